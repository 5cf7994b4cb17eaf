import { z } from "zod";
import { defineOperation } from "../operation.js";
import { boundedInt, boundedString, id, shellCommand, sizeText } from "../common.js";
import { DEFAULTS, LIMITS } from "../defaults.js";
import { strictObject } from "../strict.js";
import { secretEnv } from "./workspaces.js";


const readinessKind = (kind: string, what: string) => z.literal(kind).describe(what);

/**
 * The original's readiness objects say `type` where pyro says `kind`
 * (`{"type": "file", "path": …}`): accept both, so agents written for it work
 * unchanged; what is parsed (and reported) is always `kind`. An object with
 * both keys is left alone, so it fails as one with an unknown field.
 */
function kindFromType(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  if (!Object.hasOwn(object, "type") || Object.hasOwn(object, "kind")) return value;
  const { type, ...rest } = object;
  return { kind: type, ...rest };
}

const readiness = z
  .preprocess(kindFromType, z.discriminatedUnion("kind", [
    strictObject({
      kind: readinessKind("file", "Ready once a file exists"),
      path: z.string().min(1).describe("The file, relative to cwd or absolute"),
    }),
    strictObject({
      kind: readinessKind("tcp", "Ready once an address accepts TCP"),
      address: z.string().regex(/^[^:]+:\d+$/, "tcp readiness is HOST:PORT").describe("HOST:PORT inside the guest, e.g. 127.0.0.1:8000"),
    }),
    strictObject({
      kind: readinessKind("http", "Ready once a URL answers 2xx or 3xx"),
      url: z.string().url().describe("URL inside the guest, e.g. http://127.0.0.1:8000/health"),
    }),
    strictObject({
      kind: readinessKind("command", "Ready once a command exits 0 (the escape hatch)"),
      command: boundedString("readiness command", LIMITS.command_bytes)
        .min(1)
        .describe(`Shell command run with /bin/sh -c in cwd, at most ${sizeText(LIMITS.command_bytes)}`),
    }),
  ]))
  .optional()
  .describe(
    'Readiness check, an object: {"kind": "file", "path"}, {"kind": "tcp", "address"}, {"kind": "http", "url"} or {"kind": "command", "command"} ("type" is accepted for "kind"); without one the service counts as ready once started',
  );

const serviceState = z.object({
  workspace_id: z.string(),
  service_name: z.string(),
  state: z.enum(["starting", "running", "ready", "exited", "failed", "stopped"]),
  pid: z.number().int().nullable(),
  exit_code: z.number().int().nullable(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  readiness: z
    .object({ kind: z.string(), ready: z.boolean(), detail: z.string().nullable() })
    .nullable(),
  published_ports: z.array(z.object({ host_port: z.number().int(), guest_port: z.number().int() })),
});

const serviceRef = z.object({
  workspace_id: id("workspace id"),
  service_name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "service names use letters, digits, '.', '_' and '-'")
    .describe("Service name: letters, digits, '.', '_' and '-' (max 64), unique in the workspace"),
});

export const startService = defineOperation({
  mcp: "service_start",
  summary: "Start a named background service with an optional readiness check",
  details: "For long-running processes (a dev server, a database) that must keep running between other calls; for a command that ends, use workspace_exec. Returns once the readiness check passes (at most ready_timeout_seconds, default 30) or at once without one; state ready or running means up, failed says why with the last output. Read output with service_logs, stop with service_stop.",
  input: serviceRef.extend({
    command: shellCommand,
    cwd: z.string().default(DEFAULTS.cwd).describe(`Working directory (default ${DEFAULTS.cwd})`),
    readiness,
    ready_timeout_seconds: boundedInt({ min: 1, max: 3600 }, DEFAULTS.ready_timeout_seconds, "Readiness deadline in seconds"),
    ready_interval_ms: boundedInt({ min: 50, max: 60_000 }, DEFAULTS.ready_interval_ms, "Readiness poll interval in ms"),
    secret_env: secretEnv,
    published_ports: z
      .array(
        strictObject({
          host_port: z
            .number()
            .int()
            .min(LIMITS.published_host_port.min, `host ports below ${LIMITS.published_host_port.min} are privileged; pick one in ${LIMITS.published_host_port.min}-${LIMITS.published_host_port.max} or omit host_port to let pyro pick`)
            .max(LIMITS.published_host_port.max, `host_port must be at most ${LIMITS.published_host_port.max}; omit it to let pyro pick`)
            .optional()
            .describe(`Port on the host's 127.0.0.1 (${LIMITS.published_host_port.min}-${LIMITS.published_host_port.max}); omit it and pyro picks a free one and reports it`),
          guest_port: z
            .number()
            .int()
            .min(1, "guest_port is a TCP port: 1-65535")
            .max(65535, "guest_port is a TCP port: 1-65535")
            .describe("Port the service listens on in the guest (1-65535)"),
        }),
      )
      .optional()
      .describe("Ports to publish on 127.0.0.1 (needs network_policy egress+published-ports); the result reports each host_port"),
  }),
  result: serviceState,
});

export const listServices = defineOperation({
  mcp: "service_list",
  summary: "List a workspace's services",
  details: "Each service's state, pid, exit code and published ports.",
  input: z.object({ workspace_id: id("workspace id") }),
  result: z.object({ workspace_id: z.string(), services: z.array(serviceState) }),
});

export const statusService = defineOperation({
  mcp: "service_status",
  summary: "Report one service's state",
  details: "state: starting, running, ready, exited, failed or stopped; with exit_code and readiness detail.",
  input: serviceRef,
  result: serviceState,
});

export const logsService = defineOperation({
  mcp: "service_logs",
  summary: "Show the tail of a service's stdout and stderr",
  details: "The last tail_lines lines (default 200) of each stream, or every line with all: true (the guest keeps the last 1 MiB of each). Secret values are redacted.",
  input: serviceRef.extend({
    tail_lines: boundedInt({ min: 1, max: 100_000 }, DEFAULTS.tail_lines, "Lines from the end"),
    all: z
      .boolean()
      .default(false)
      .describe("Every line instead of the tail (default false); the guest keeps at most the last 1 MiB of each stream, older lines are dropped"),
  }),
  result: z.object({ workspace_id: z.string(), service_name: z.string(), stdout: z.string(), stderr: z.string() }),
});

export const stopService = defineOperation({
  mcp: "service_stop",
  summary: "Stop a service: TERM, then KILL after a grace period",
  details: "The grace period is 5 s. Returns the service's final state.",
  input: serviceRef,
  result: serviceState,
});
