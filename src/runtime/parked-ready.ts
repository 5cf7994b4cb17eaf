import { PyroError } from "../util/errors.js";
import { sleep } from "../util/process.js";
import type { MachineHandle, Parking } from "./backend.js";

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
