/** Defaults that hold on every face (CONTRACT.md "Defaults that hold everywhere"). */
export const DEFAULTS = {
  vcpu_count: 1,
  mem_mib: 1024,
  timeout_seconds: 30,
  ttl_seconds: 600,
  network: false,
  network_policy: "off",
  allow_host_compat: false,
  cwd: "/workspace",
  sync_dest: "/workspace",
  ready_timeout_seconds: 30,
  ready_interval_ms: 500,
  tail_lines: 200,
  /** Bytes `workspace disk read` returns unless told otherwise (the original's default). */
  disk_read_max_bytes: 65536,
  shell_cols: 120,
  shell_rows: 30,
  shell_cursor: 0,
  shell_max_chars: 65536,
  shell_append_newline: true,
  shell_signal: "INT",
  reset_snapshot: "baseline",
} as const;

/** Bounds on inputs; outside them a call fails with invalid_argument. */
export const LIMITS = {
  vcpu_count: { min: 1, max: 32 },
  mem_mib: { min: 128, max: 262_144 },
  timeout_seconds: { min: 1, max: 86_400 },
  ttl_seconds: { min: 10, max: 2_592_000 },
  /** A published port's host side: never a privileged port (as the original); omitted, pyro picks one. */
  published_host_port: { min: 1025, max: 65535 },
  /** Per stream; output past it is dropped and flagged `*_truncated`. */
  max_output_bytes: 1024 * 1024,
  /**
   * A command string, in UTF-8 bytes. The guest runs it as one argument of
   * `/bin/sh -c`, and Linux refuses any single argument over 128 KiB
   * (MAX_ARG_STRLEN): 64 KiB stays well clear, with room for the rest.
   */
  command_bytes: 64 * 1024,
  /** The longest a `shell_read` with `wait_for_idle_ms` waits for the output to go quiet, in seconds. */
  shell_idle_wait_seconds: 60,
  /** One `shell_write` input, in UTF-8 bytes (it travels in one protocol frame). */
  shell_input_bytes: 64 * 1024,
  /** One secret value, in UTF-8 bytes (a token or a small config file). */
  secret_value_bytes: 64 * 1024,
  /**
   * One MCP message on stdin, in bytes (the MCP SDK's own stdio bound). A longer
   * line is skipped and answered with a JSON-RPC error; the server carries on.
   */
  mcp_message_bytes: 10 * 1024 * 1024,
} as const;
