/**
 * Shapes of the control messages of protocol/SPEC.md. They describe what a
 * well-behaved peer sends; anything read from a guest must still be checked
 * before use.
 */

/** Error codes an agent may put in `{"type":"error"}`. */
export const AGENT_ERROR_CODES = ["bad_request", "not_found", "exists", "io", "unsupported", "limit", "internal"] as const;

/** One of {@link AGENT_ERROR_CODES}. */
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/** Terminal size of a PTY exec. */
export interface PtySize {
  cols: number;
  rows: number;
}

/** The `exec` op, less its `op` field. Absent fields take the SPEC defaults. */
export interface ExecRequest {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeout_ms?: number;
  max_output_bytes?: number;
  stdin?: boolean;
  pty?: PtySize | null;
  /** Run as this identity instead of root (an OCI image's `User`, resolved by the host). */
  user?: { uid: number; gid: number; groups: number[] };
}

/** Signals the `signal` op accepts (the same words as the contract's `signal_name`). */
export type { SignalName } from "../util/vocabulary.js";

/** Result of `put_archive` and `get_archive`. */
export interface ArchiveResult {
  entries: number;
  bytes: number;
  /** `get_archive` only. */
  kind?: "file" | "directory";
}
