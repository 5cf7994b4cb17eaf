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
  shell_cols: 120,
  shell_rows: 30,
  shell_cursor: 0,
  shell_max_chars: 65536,
  shell_append_newline: true,
  shell_signal: "INT",
  reset_snapshot: "baseline",
} as const;

/** Bounds on numeric inputs; outside them a call fails with invalid_argument. */
export const LIMITS = {
  vcpu_count: { min: 1, max: 32 },
  mem_mib: { min: 128, max: 262_144 },
  timeout_seconds: { min: 1, max: 86_400 },
  ttl_seconds: { min: 10, max: 2_592_000 },
  /** Per stream; output past it is dropped and flagged `*_truncated`. */
  max_output_bytes: 1024 * 1024,
} as const;
