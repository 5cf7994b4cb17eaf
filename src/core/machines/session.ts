import { AgentClient } from "../../agent-client/index.js";
import type { ExecResult } from "../../agent-client/index.js";
import type { ExecRequest } from "../../protocol/index.js";
import type { Backend, MachineHandle, MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";

/** How long a new connection waits for the agent's hello. */
const HELLO_TIMEOUT_MS = 10_000;
/** How long an unanswered hello waits before the stale-frame flush (serial transports). */
const RESYNC_AFTER_MS = 2_000;

/** A started machine: enough to reach, stop or kill it from any process. */
export interface MachineRef {
  backend: Backend;
  spec: MachineSpec;
  handle: MachineHandle;
}

/** Open an agent session on a running machine, run `fn`, always close it. */
export async function withAgent<R>(machine: MachineRef, fn: (client: AgentClient) => Promise<R>): Promise<R> {
  if (!machine.backend.isRunning(machine.handle)) {
    throw new PyroError("guest_failure", `machine ${machine.spec.id} is not running: its ${machine.backend.name} process is gone`, {
      hint: "check its status; delete it and create a new one",
    });
  }
  const stream = await machine.backend.connect(machine.spec, machine.handle);
  const client = await AgentClient.connect(stream, {
    helloTimeoutMs: HELLO_TIMEOUT_MS,
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

/** Run one shell command through the agent. */
export function execShell(client: AgentClient, request: { command: string; cwd: string; timeoutMs: number; maxOutputBytes: number; env?: Record<string, string> }): Promise<ExecResult> {
  const exec: ExecRequest = {
    argv: ["/bin/sh", "-c", request.command],
    cwd: request.cwd,
    env: request.env ?? {},
    timeout_ms: request.timeoutMs,
    max_output_bytes: request.maxOutputBytes,
  };
  return client.exec(exec, { maxBufferedBytes: request.maxOutputBytes });
}

/**
 * Shut a machine down: ask the agent to sync and power off, wait for the host
 * process to exit, kill it after `graceMs`. Never throws for a machine that is
 * already dead.
 */
export async function shutdownMachine(machine: MachineRef, graceMs: number): Promise<void> {
  if (machine.backend.isRunning(machine.handle)) {
    try {
      await withAgent(machine, (client) => client.request("shutdown", { action: "poweroff" }));
    } catch {
      // An agent that cannot answer is killed below.
    }
  }
  await machine.backend.stop(machine.spec, machine.handle, graceMs);
}
