/**
 * Shapes of the control messages of protocol/SPEC.md. They describe what a
 * well-behaved peer sends; anything read from a guest must still be checked
 * before use.
 */

/** Error codes an agent may put in `{"type":"error"}`. */
export const AGENT_ERROR_CODES = ["bad_request", "not_found", "exists", "io", "unsupported", "limit", "internal"] as const;

/** One of {@link AGENT_ERROR_CODES}. */
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/** Capabilities an agent may list in its hello. */
export type AgentCapability =
  | "exec"
  | "exec.stdin"
  | "exec.pty"
  | "files.tar"
  | "shell"
  | "service"
  | "secrets"
  | "probe"
  | "sync"
  | "shutdown";

/** Host → agent hello (stream 0). */
export interface HelloRequest {
  op: "hello";
  protocol_version: number;
  nonce: string;
  client: string;
}

/** Agent → host hello (stream 0). */
export interface HelloReply {
  type: "hello";
  protocol_version: number;
  agent_version: string;
  nonce: string;
  capabilities: string[];
  pid: number;
  hostname: string;
}

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
}

/** The final `result` of an exec, less its `type` field. */
export interface ExecResultMessage {
  exit_code: number;
  signal: string | null;
  timed_out: boolean;
  stdout_bytes: number;
  stderr_bytes: number;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  duration_ms: number;
}

/** Signals the `signal` op accepts. */
export type SignalName = "INT" | "TERM" | "KILL" | "HUP" | "QUIT" | "USR1" | "USR2";

/** Result of `put_archive` and `get_archive`. */
export interface ArchiveResult {
  entries: number;
  bytes: number;
  /** `get_archive` only. */
  kind?: "file" | "directory";
}
