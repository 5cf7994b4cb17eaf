import type { Duplex } from "node:stream";
import { AgentClient, deadlineFor } from "../../agent-client/index.js";
import type { ExecResult } from "../../agent-client/index.js";
import type { ExecRequest } from "../../protocol/index.js";
import type { Backend, MachineHandle, MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";
import type { ExecStreaming } from "./command-stream.js";

/** How long a new connection waits for the agent's hello where the backend does not say (Backend.helloTimeoutMs). */
const HELLO_TIMEOUT_MS = 10_000;

/** How long a connect and a hello with `machine`'s agent may each take. */
export function helloTimeoutOf(machine: Pick<MachineRef, "backend" | "handle">): number {
  return machine.backend.helloTimeoutMs?.(machine.handle) ?? HELLO_TIMEOUT_MS;
}
/** How long an unanswered hello waits before the stale-frame flush (serial transports). */
const RESYNC_AFTER_MS = 2_000;

/** A started machine: enough to reach, stop or kill it from any process. */
export interface MachineRef {
  backend: Backend;
  spec: MachineSpec;
  handle: MachineHandle;
}

/**
 * Open an agent session on a running machine, run `fn`, always close it.
 * Every step is bounded on the host: the connect and the hello by
 * {@link helloTimeoutOf} (10 s, a minute for a software-emulated guest), each request by the agent client (an exec by its
 * timeout plus a margin, anything else by a stall watchdog), so a wedged or
 * hostile agent fails the call with `timeout` instead of hanging it. The
 * machine is left as it is: the caller decides (a one-shot VM is destroyed,
 * a workspace stays for `reset` or `delete`, as the error's hint says).
 */
export async function withAgent<R>(machine: MachineRef, fn: (client: AgentClient) => Promise<R>): Promise<R> {
  if (!machine.backend.isRunning(machine.handle)) {
    throw new PyroError("guest_failure", `machine ${machine.spec.id} is not running: its ${machine.backend.name} process is gone`, {
      hint: "check its status; delete it and create a new one",
    });
  }
  const helloTimeoutMs = helloTimeoutOf(machine);
  const stream = await boundedConnect(machine, helloTimeoutMs);
  const client = await AgentClient.connect(stream, {
    helloTimeoutMs,
    // A serial port's byte stream outlives sessions: a dead one may have left half a frame in it.
    resyncAfterMs: machine.backend.capabilities.execution_mode === "guest_serial" ? RESYNC_AFTER_MS : undefined,
  });
  try {
    return await fn(client);
  } catch (error) {
    // A connection that died because the machine died says so, not "socket closed".
    if (!machine.backend.isRunning(machine.handle) && !(error instanceof PyroError && error.code !== "guest_failure")) {
      throw new PyroError("guest_failure", `machine ${machine.spec.id} died while the command ran`, {
        hint: "its status now says dead; delete it (or reset the workspace) to recover",
        cause: error,
      });
    }
    throw error;
  } finally {
    client.close();
  }
}

/** `backend.connect`, failing with `timeout` when the transport does not connect within `timeoutMs`. */
async function boundedConnect(machine: MachineRef, timeoutMs: number): Promise<Duplex> {
  const connecting = machine.backend.connect(machine.spec, machine.handle);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // A stream that still arrives has no one to close it but this.
      connecting.then((late) => late.destroy(), () => undefined);
      reject(
        new PyroError("timeout", `the agent of machine ${machine.spec.id} did not accept a connection within ${timeoutMs / 1000} s`, {
          hint: "the machine may be wedged: delete the VM, or reset the workspace (`pyro workspace reset ID`) or delete it",
        }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([connecting, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run one shell command through the agent. The agent client bounds it on the
 * host at `timeoutMs` plus a margin (agent-client/deadline.ts). With
 * `streaming`, output reaches its listeners as it arrives; the result keeps
 * at most `maxOutputBytes` per stream either way.
 */
export function execShell(
  client: AgentClient,
  request: {
    command: string;
    cwd: string;
    timeoutMs: number;
    maxOutputBytes: number;
    env?: Record<string, string>;
    user?: { uid: number; gid: number; groups: number[] };
    streaming?: ExecStreaming;
  },
): Promise<ExecResult> {
  const { guestMaxOutputBytes, ...live } = request.streaming ?? {};
  const exec: ExecRequest = {
    argv: ["/bin/sh", "-c", request.command],
    cwd: request.cwd,
    env: request.env ?? {},
    timeout_ms: request.timeoutMs,
    max_output_bytes: Math.max(request.maxOutputBytes, guestMaxOutputBytes ?? 0),
    ...(request.user ? { user: request.user } : {}),
  };
  return client.exec(exec, { maxBufferedBytes: request.maxOutputBytes, ...live });
}

/**
 * Shut a machine down: ask the agent to sync and power off (bounded by
 * `graceMs` plus a margin: a wedged agent must not hang the stop), wait for the host
 * process to exit, kill it after `graceMs`. Never throws for a machine that
 * is already dead.
 */
export async function shutdownMachine(machine: MachineRef, graceMs: number): Promise<void> {
  if (machine.backend.isRunning(machine.handle)) {
    try {
      // The agent syncs the disk before it answers: the grace plus the usual margin.
      await withAgent(machine, (client) => client.request("shutdown", { action: "poweroff" }, { deadlineMs: deadlineFor(graceMs) }));
    } catch {
      // An agent that cannot answer is killed below.
    }
  }
  await machine.backend.stop(machine.spec, machine.handle, graceMs);
}
