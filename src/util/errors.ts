/**
 * Machine-readable error codes. Every failure a user can cause or fix maps to
 * one of these; anything else is `internal` (a pyro bug).
 */
export const ERROR_CODES = [
  /** Input failed validation (bad flag, bad field, empty command…). */
  "invalid_argument",
  /** An id, environment, snapshot, shell or service that does not exist. */
  "not_found",
  /** Something with that name already exists. */
  "already_exists",
  /** The operation does not fit the current state (VM stopped, workspace running…). */
  "failed_precondition",
  /** The host cannot run what was asked (no bootable guest, missing tool). */
  "unavailable",
  /** The guest died, never answered, or broke the protocol. */
  "guest_failure",
  /** A deadline passed. */
  "timeout",
  /** A size or count bound was exceeded. */
  "limit_exceeded",
  /** Another process holds the lock for too long. */
  "busy",
  /** A host file or directory could not be read or written. */
  "io_error",
  /** A stored record or cache entry is unreadable. */
  "corrupt_state",
  /** Planned by an open issue, not built yet. */
  "unsupported",
  /** A bug in pyro. */
  "internal",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Where each error code's causes and fixes are explained, relative to the
 * package root (the file ships in the npm package). `test/docs/troubleshooting.test.ts`
 * fails while a code has no entry there.
 */
export const TROUBLESHOOTING_PAGE = "docs/troubleshooting.md";

/** The troubleshooting entry of an error code: its heading's anchor. */
export function troubleshootingLink(code: ErrorCode): string {
  return `${TROUBLESHOOTING_PAGE}#${code}`;
}

/**
 * The one error type pyro throws on purpose. `message` says what went wrong,
 * `hint` says how to fix it; neither ever contains a secret value.
 */
export class PyroError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PyroError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** The troubleshooting entry for this error's code. */
  get docs(): string {
    return troubleshootingLink(this.code);
  }

  /** `message`, then the hint (when there is one) and the troubleshooting entry on their own lines. */
  describe(): string {
    return `${this.message}${this.hint ? `\nhint: ${this.hint}` : ""}\nsee: ${this.docs}`;
  }

  /** The JSON shape used by `--json` output and MCP tool errors. */
  toJSON(): { error: { code: ErrorCode; message: string; hint?: string; docs: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint ? { hint: this.hint } : {}),
        docs: this.docs,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

/** Wrap anything thrown into a PyroError, keeping PyroErrors as they are. */
export function toPyroError(error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PyroError("internal", `unexpected error: ${message}`, {
    hint: "this is a bug in pyro; please report it with the command you ran",
    cause: error,
  });
}
