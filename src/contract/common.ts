import { z } from "zod";
import { DEFAULTS, LIMITS } from "./defaults.js";
import { BACKEND_NAMES, CPU_ENFORCEMENTS, EXECUTION_MODES, MEMORY_ENFORCEMENTS, NETWORK_POLICIES } from "../util/vocabulary.js";

/** A bounded integer with a default, described for `--help` and MCP. */
export function boundedInt(bounds: { min: number; max: number }, fallback: number, description: string) {
  return z.number().int().min(bounds.min).max(bounds.max).default(fallback).describe(`${description} (default ${fallback})`);
}

export const environmentName = z
  .string()
  .trim()
  .min(1, "environment must not be empty")
  .describe("Environment: a catalog name (e.g. debian:12) or an OCI image reference (python:3.12-slim, registry:5000/team/app:tag, …@sha256:…; oci: forces an image)");

/** `64 KiB (65536 bytes)`, `1 MiB (1048576 bytes)`: how limits read in descriptions and errors. */
export function sizeText(bytes: number): string {
  const MiB = 1024 * 1024;
  if (bytes % MiB === 0) return `${bytes / MiB} MiB (${bytes} bytes)`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB (${bytes} bytes)` : `${bytes} bytes`;
}

/**
 * A string of at most `maxBytes` UTF-8 bytes. `maxLength` in the JSON schema
 * says the same in characters (never fewer than the bytes); the byte count is
 * what the guest and the protocol bound, so it is checked too.
 */
export function boundedString(what: string, maxBytes: number, advice?: string) {
  const message = `${what} is longer than the limit of ${sizeText(maxBytes)} of UTF-8${advice ? `; ${advice}` : ""}`;
  return z
    .string()
    .max(maxBytes, { error: message, abort: true })
    .refine((value) => Buffer.byteLength(value, "utf8") <= maxBytes, message);
}

const LONG_SCRIPT_ADVICE = "put a longer script in a file (workspace_sync_push, or a seed) and run that file";

export const shellCommand = boundedString("command", LIMITS.command_bytes, LONG_SCRIPT_ADVICE)
  .refine((value) => value.trim().length > 0, "command must not be empty")
  .describe(
    `Shell command, run with /bin/sh -c inside the guest (PATH and HOME set by the agent); at most ${sizeText(LIMITS.command_bytes)} of UTF-8; ${LONG_SCRIPT_ADVICE}`,
  );

export const vcpuCount = boundedInt(LIMITS.vcpu_count, DEFAULTS.vcpu_count, "Virtual CPUs");
export const memMib = boundedInt(LIMITS.mem_mib, DEFAULTS.mem_mib, "Guest memory in MiB");
export const timeoutSeconds = boundedInt(LIMITS.timeout_seconds, DEFAULTS.timeout_seconds, "Command timeout in seconds");
export const ttlSeconds = boundedInt(LIMITS.ttl_seconds, DEFAULTS.ttl_seconds, "Seconds until the machine expires and is reaped");
export const allowHostCompat = z
  .boolean()
  .default(DEFAULTS.allow_host_compat)
  .describe("Allow the host-compat namespace sandbox when no guest can boot (default false)");

export const id = (what: string) => z.string().trim().min(1, `${what} must not be empty`).describe(`The ${what}`);

export const backendName = z.enum(BACKEND_NAMES);
export const executionMode = z.enum(EXECUTION_MODES);
/** A network policy as results report it (see NETWORK_POLICIES for how `network` maps to it). */
export const networkPolicyValue = z.enum(NETWORK_POLICIES);
export const networkPolicy = networkPolicyValue
  .default("off")
  .describe("Guest network access (default off)");

/** Allow-lists on top of the `egress` policy (src/net/allow.ts checks and normalises them). */
export const allowHosts = z
  .array(z.string())
  .optional()
  .describe("Needs egress. Host names the guest may resolve and reach, and nothing else (DNS answered by pyro's resolver; *.example.com matches every name below example.com)");
export const allowCidrs = z
  .array(z.string())
  .optional()
  .describe("Needs egress. CIDRs the guest may reach even inside blocked ranges (private, link-local, the host's addresses), e.g. 10.1.2.0/24");
/** The effective allow-lists, as results report them (empty: none). */
export const allowListFields = {
  allow_hosts: z.array(z.string()).describe("Host names the guest may resolve and reach; when not empty, nothing else"),
  allow_cidrs: z.array(z.string()).describe("CIDRs the guest may reach even inside blocked ranges"),
};

/** What a finished command produced; shared by run, exec and workspace exec. */
export const commandResultFields = {
  command: z.string(),
  exit_code: z.number().int(),
  stdout: z.string().describe(`Standard output, at most ${sizeText(LIMITS.max_output_bytes)}; the rest is dropped`),
  stderr: z.string().describe(`Standard error, at most ${sizeText(LIMITS.max_output_bytes)}; the rest is dropped`),
  stdout_truncated: z.boolean().describe("Whether stdout passed its cap and was cut"),
  stderr_truncated: z.boolean().describe("Whether stderr passed its cap and was cut"),
  timed_out: z.boolean(),
  duration_ms: z.number().int(),
  backend: backendName,
  execution_mode: executionMode,
};

/** What a model must do with commands that may outlast a client's tool-call timeout. */
export const LONG_COMMAND_NOTE =
  "For anything that may run over a minute (builds, test suites, installs), use workspace_exec with background: true and poll workspace_command_wait instead: " +
  "a foreground call holds the tool call open, and only clients that send a progressToken (which then receive progress notifications with the output) keep it alive.";
/** What every command-running tool says about its output (MCP tool descriptions). */
export const OUTPUT_NOTE =
  `stdout and stderr keep at most ${sizeText(LIMITS.max_output_bytes)} each; past that, output is dropped and stdout_truncated/stderr_truncated is true. ` +
  "The text content of the result carries a summary and a bounded excerpt of the output; structuredContent carries all of it. " +
  LONG_COMMAND_NOTE;
/** How a machine is held to mem_mib and vcpu_count; only what is really enforced is claimed. */
export const limitsEnforced = z
  .object({
    mem_mib: z.enum(MEMORY_ENFORCEMENTS).describe("vm: the guest's own memory; cgroup: a memory cgroup on the host; none: NOT enforced"),
    vcpu_count: z
      .enum(CPU_ENFORCEMENTS)
      .describe("vm: the guest's vCPUs; cgroup: a CPU-time quota; affinity: pinned CPUs only (not a hard cap); none: NOT enforced"),
    pids_max: z.number().int().nullable().describe("Most processes the machine may run; null when no process limit applies"),
  })
  .nullable()
  .describe("How the machine's resource limits are enforced; null while no machine runs to report it (sandbox backend)");

/** How a one-shot machine was disposed of. */
export const cleanupResult = z.object({
  deleted: z.boolean(),
  reason: z.string(),
  vm_id: z.string(),
});

/** Force one backend instead of the automatic choice (also `PYRO_BACKEND`). */
export const backendChoice = backendName
  .optional()
  .describe("Force a backend: firecracker, qemu or sandbox (default: the fastest that can boot a guest; env PYRO_BACKEND)");
