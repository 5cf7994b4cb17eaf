import { deadlineFor, type AgentClient } from "../../agent-client/index.js";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import type { PublishedPort } from "../../runtime/backend.js";
import { PortService, type ServicePorts } from "./ports.js";
import { redactDeep, withRedactedErrors } from "./redaction.js";
import type { WorkspaceRecord } from "./record.js";
import { loadSecrets, redact, secretEnvironment, type SecretValues } from "./secrets.js";
import { imageEnv } from "../machines/image-env.js";
import { userField } from "../machines/image-user.js";
import type { Machine } from "../machines/machine.js";
import type { WorkspaceService } from "./service.js";

type ServiceState = OperationResult<"statusService">;

/** A service's state as the agent reports it (protocol/SPEC.md). */
type AgentServiceState = {
  name: string;
  state: ServiceState["state"];
  pid: number;
  exit_code: number | null;
  started_at: string | null;
  ended_at: string | null;
  readiness: { kind: string; ready: boolean; detail: string } | null;
};

/** How long a service gets to handle TERM before KILL. */
const STOP_GRACE_MS = 5000;
/** Lines of output quoted when readiness fails. */
const FAILURE_LOG_LINES = 20;
/** The most lines the agent returns of a log (agent/internal/services: maxTailLines); `logs --all` asks for them. */
const ALL_LINES = 100_000;
/** Go's zero time: the agent's "never". */
const ZERO_TIME = /^0001-01-01T/;

/**
 * Named background processes of a workspace. The agent supervises them and
 * keeps their metadata and logs under /run/pyro-services in the guest
 * (outside /workspace, so never in diff or export); the host keeps only which
 * ports each service published. Every guest string that comes back is
 * redacted of the workspace's secrets.
 */
export class ServiceService {
  private readonly ports: PortService;

  constructor(private readonly workspaces: WorkspaceService) {
    this.ports = new PortService(workspaces);
  }

  /** Start a service via `/bin/sh -lc` and wait for its readiness check, if any. */
  async start(input: ParsedInput<"startService">): Promise<ServiceState> {
    const record = await this.workspaces.running(input.workspace_id);
    const wanted = input.published_ports ?? [];
    await this.ports.check(record, wanted);
    return this.call(record, async (client, secrets, machine) => {
      // An OCI image's Env under the call's secrets.
      const env = { ...imageEnv(machine.spec.environment), ...secretEnvironment(input.secret_env, secrets) };
      // The wait can be long: MCP turns this line (and a heartbeat after it) into progress that keeps the call alive.
      if (input.readiness) {
        this.workspaces.context.progress(`[service] phase=wait-ready workspace_id=${record.workspace_id} name=${input.service_name} timeout_seconds=${input.ready_timeout_seconds}`);
      }
      const started = await client.request<AgentServiceState & { type: string }>("service_start", {
        name: input.service_name,
        argv: ["/bin/sh", "-lc", input.command],
        cwd: input.cwd,
        env,
        readiness: input.readiness ?? null,
        ready_timeout_ms: input.ready_timeout_seconds * 1000,
        ready_interval_ms: input.ready_interval_ms,
        ...userField(machine.spec.environment),
        // The agent may stay silent until the readiness check passes or times out.
      }, { deadlineMs: deadlineFor(input.ready_timeout_seconds * 1000) });
      let published: PublishedPort[] = [];
      if (wanted.length > 0 && isLive(started.state)) {
        try {
          published = await this.ports.publish(record.workspace_id, input.service_name, wanted);
        } catch (error) {
          await client.request("service_stop", { name: input.service_name, grace_ms: STOP_GRACE_MS }).catch(() => undefined);
          throw error;
        }
      }
      let state = toState(record.workspace_id, started, published, secrets);
      if (state.state === "failed" && state.readiness) {
        const logs = await client.request<{ type: string; stdout: string; stderr: string }>("service_logs", { name: input.service_name, tail_lines: FAILURE_LOG_LINES }).catch(() => null);
        const output = logs ? [logs.stderr, logs.stdout].filter((text) => text.trim() !== "").join("\n") : "";
        if (output) state = { ...state, readiness: { ...state.readiness, detail: `${state.readiness.detail ?? ""}\nlast output:\n${redact(output, secrets)}` } };
      }
      return state;
    });
  }

  /** Every service of a workspace, sorted by name. */
  async list(workspaceId: string): Promise<OperationResult<"listServices">> {
    const record = await this.workspaces.running(workspaceId);
    const ports = await this.ports.read(record.workspace_id);
    return this.call(record, async (client, secrets) => {
      const answer = await client.request<{ type: string; services: AgentServiceState[] }>("service_list", {});
      return { workspace_id: record.workspace_id, services: answer.services.map((s) => toState(record.workspace_id, s, ports[s.name] ?? [], secrets)) };
    });
  }

  /** One service's state. */
  async status(input: ParsedInput<"statusService">): Promise<ServiceState> {
    return this.one(input.workspace_id, input.service_name, (client) => client.request("service_status", { name: input.service_name }));
  }

  /** Stop a service: TERM to its process group, KILL after a grace period. */
  async stop(input: ParsedInput<"stopService">): Promise<ServiceState> {
    return this.one(input.workspace_id, input.service_name, (client) => client.request("service_stop", { name: input.service_name, grace_ms: STOP_GRACE_MS }));
  }

  /** The tail of a service's stdout and stderr (with `all`, every line the guest keeps), redacted. */
  async logs(input: ParsedInput<"logsService">): Promise<OperationResult<"logsService">> {
    const record = await this.workspaces.running(input.workspace_id);
    return this.call(record, async (client, secrets) => {
      // A secret with line breaks may straddle the first line kept: fetch enough extra lines to redact it whole.
      const extra = Math.max(0, ...Object.values(secrets).map((value) => value.split("\n").length - 1));
      // `all` asks for the agent's most lines; its byte bound (the last 1 MiB of each log) still holds.
      const wanted = input.all ? ALL_LINES : input.tail_lines + extra;
      const logs = await client.request<{ type: string; stdout: string; stderr: string }>("service_logs", { name: input.service_name, tail_lines: wanted });
      const keep = (text: string) => (input.all ? redact(text, secrets) : lastLines(redact(text, secrets), input.tail_lines));
      return { workspace_id: record.workspace_id, service_name: input.service_name, stdout: keep(logs.stdout), stderr: keep(logs.stderr) };
    });
  }

  private async one(workspaceId: string, name: string, ask: (client: AgentClient) => Promise<Record<string, unknown>>): Promise<ServiceState> {
    const record = await this.workspaces.running(workspaceId);
    const ports = await this.ports.read(record.workspace_id);
    return this.call(record, async (client, secrets) => toState(record.workspace_id, (await ask(client)) as unknown as AgentServiceState, ports[name] ?? [], secrets));
  }

  private async call<R>(record: WorkspaceRecord, fn: (client: AgentClient, secrets: SecretValues, machine: Machine) => Promise<R>): Promise<R> {
    const secrets = await loadSecrets(this.workspaces.files(record.workspace_id).secrets);
    const machine = await this.workspaces.machine(record);
    return withRedactedErrors(secrets, () => machine.session((client) => fn(client, secrets, machine)));
  }
}

function isLive(state: string): boolean {
  return state === "starting" || state === "running" || state === "ready";
}

function time(value: string | null | undefined): string | null {
  return value && !ZERO_TIME.test(value) ? value : null;
}

/** The public state of a service from the agent's, guest text redacted. */
function toState(workspaceId: string, agent: AgentServiceState, ports: ServicePorts[string], secrets: SecretValues): ServiceState {
  const readiness = agent.readiness ? { kind: agent.readiness.kind, ready: agent.readiness.ready, detail: agent.readiness.detail || null } : null;
  return {
    workspace_id: workspaceId,
    service_name: agent.name,
    state: agent.state,
    pid: agent.pid > 0 ? agent.pid : null,
    exit_code: agent.exit_code ?? null,
    started_at: time(agent.started_at),
    ended_at: time(agent.ended_at),
    readiness: redactDeep(readiness, secrets),
    published_ports: ports,
  };
}

/** The last `count` lines of `text` (a final newline does not start a line). */
function lastLines(text: string, count: number): string {
  const lines = text.split("\n");
  const trailing = lines[lines.length - 1] === "" ? 1 : 0;
  return lines.slice(Math.max(0, lines.length - trailing - count)).join("\n");
}
