import type { Duplex } from "node:stream";
import { AgentClient } from "../agent-client/index.js";
import { PyroError, toPyroError } from "../util/errors.js";
import { sleep } from "../util/process.js";
import type { MachineHandle, MachineSpec, Parking, StartOptions } from "./backend.js";
import { activateGuest } from "./guest-boot/index.js";

/**
 * Resolve once a parked machine is ready to be handed out (its restore, and
 * any warm-up, done): what every backend's `unpark` waits for first. Throws
 * `guest_failure` when it failed and `timeout` past `deadline` (ms since the
 * epoch); either way the pool's caller starts a machine of its own.
 */
export async function untilParkedReady(parking: Pick<Parking, "parkedState">, handle: MachineHandle, dir: string, deadline: number): Promise<void> {
  for (;;) {
    const state = await parking.parkedState(handle, dir);
    if (state === "ready") return;
    if (state === "failed" || Date.now() > deadline) {
      throw new PyroError(state === "failed" ? "guest_failure" : "timeout", `the pooled machine (pid ${handle.pid}) did not finish restoring`, {
        hint: "pyro starts a machine of its own instead; `pyro pool drain` empties the pool",
      });
    }
    await sleep(10);
  }
}

/** How one backend lets a parked machine run again and reaches its agent ({@link handOutParked}). */
export interface HandOutSteps {
  /** Let the machine's vCPUs run (QMP `cont`, Firecracker `PATCH /vm Resumed`), after any backend housekeeping. */
  resume: () => Promise<void>;
  /** A new byte stream to the machine's agent. */
  connect: () => Promise<Duplex>;
  /** The longest the hello may take (the boot deadline bounds it too). */
  helloTimeoutMs: number;
  /** Re-send the hello after this long without an answer (a serial port may miss the first). */
  resyncAfterMs?: number;
  clientName: string;
  /** Kill the machine: a hand-out that fails leaves nothing running. */
  kill: () => Promise<void>;
}

/**
 * The tail every backend's `unpark` shares: wait until the parked machine is
 * ready, let it run, open an agent session and activate the guest with
 * `spec`'s identity. Returns the session, still open, for the caller's first
 * request; on any failure the machine is killed and a PyroError thrown.
 */
export async function handOutParked(
  parking: Pick<Parking, "parkedState">,
  spec: MachineSpec,
  handle: MachineHandle,
  options: StartOptions,
  steps: HandOutSteps,
): Promise<{ handle: MachineHandle; session: AgentClient }> {
  const progress = options.onProgress ?? (() => undefined);
  const deadline = Date.now() + options.bootTimeoutMs;
  let session: AgentClient | undefined;
  try {
    await untilParkedReady(parking, handle, spec.dir, deadline);
    progress("phase=unpark");
    await steps.resume();
    session = await AgentClient.connect(await steps.connect(), {
      helloTimeoutMs: Math.max(1000, Math.min(steps.helloTimeoutMs, deadline - Date.now())),
      ...(steps.resyncAfterMs !== undefined ? { resyncAfterMs: steps.resyncAfterMs } : {}),
      clientName: steps.clientName,
    });
    await activateGuest(session, { hostname: spec.hostname, environmentName: spec.environment.name, resumable: true });
  } catch (error) {
    await session?.close();
    await steps.kill();
    throw toPyroError(error);
  }
  progress("phase=ready");
  return { handle, session };
}
