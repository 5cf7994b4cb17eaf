import { PyroError, type ErrorCode } from "../util/errors.js";
import type { AgentErrorCode } from "../protocol/index.js";

/** How the agent's error codes map to pyro's. Unknown codes are a guest failure. */
const CODE_MAP: Record<AgentErrorCode, ErrorCode> = {
  bad_request: "invalid_argument",
  not_found: "not_found",
  exists: "already_exists",
  io: "io_error",
  unsupported: "unsupported",
  limit: "limit_exceeded",
  internal: "guest_failure",
};

/** The most of a guest-supplied message that is ever shown. */
const MAX_MESSAGE = 2048;

/**
 * Turn a guest string into something safe to print: bounded, without
 * terminal control characters.
 */
export function sanitizeGuestText(value: unknown, max = MAX_MESSAGE): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The PyroError for an agent's `{"type":"error"}` answer to `op`. */
export function agentError(op: string, message: Record<string, unknown>): PyroError {
  const agentCode = typeof message.code === "string" ? message.code : "internal";
  const code = (CODE_MAP as Record<string, ErrorCode | undefined>)[agentCode] ?? "guest_failure";
  const text = sanitizeGuestText(message.message ?? "no message");
  return new PyroError(code, `${op} failed in the guest: ${text}`, {
    details: { op, agent_code: sanitizeGuestText(agentCode, 64) },
  });
}

/** The error for requests that were pending when the connection died. */
export function connectionLost(op: string, cause?: unknown): PyroError {
  const why = cause instanceof Error ? `: ${cause.message}` : "";
  return new PyroError("guest_failure", `the guest agent connection closed while ${op} was running${why}`, {
    hint: "the machine may have stopped or crashed; check its status and console log, then retry",
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The error for a malformed message from the guest. */
export function malformed(op: string, what: string): PyroError {
  return new PyroError("guest_failure", `the guest agent sent a malformed ${what} for ${op}`, {
    hint: "the guest agent may be corrupt or from another pyro version; re-pull the environment (`pyro env pull`)",
  });
}
