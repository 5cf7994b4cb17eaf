import { randomBytes } from "node:crypto";
import type { AgentClient } from "../../agent-client/index.js";
import { PyroError } from "../../util/errors.js";
import { checkHostname } from "./cmdline.js";

/** The machine an identity step is for. */
export interface GuestIdentity {
  hostname: string;
  /** For the hint when the agent is too old to be activated. */
  environmentName: string;
  /**
   * Whether the guest's running state may come from a saved snapshot (qemu's
   * boot snapshots): then it also gets the host's clock and fresh entropy, so
   * machines resumed from one state neither share a random state nor keep
   * the clock of the moment it was saved. A cold-booted guest keeps its own
   * (its kernel read the wall clock at boot and seeded its CRNG itself).
   */
  resumable: boolean;
}

/**
 * The identity step, the same for every VM backend: once the agent answers,
 * the host sends its `activate` op (protocol/SPEC.md) with the machine's
 * hostname (and, for a resumable state, the host's clock and fresh entropy);
 * the agent makes the root writable, writes resolv.conf from `pyro.net=`, and
 * applies them. The kernel command line holds nothing of one machine, so a
 * booted state can be resumed by many (qemu boot snapshots), and every VM
 * gets its identity the same way.
 *
 * Which path each backend takes:
 * - qemu: {@link activateGuest} after boot or snapshot resume (resumable).
 * - firecracker: {@link activateGuest} after boot (its agent is the guest's
 *   init), and resumable after a pooled machine's restore from a boot
 *   snapshot (runtime/firecracker/parking.ts, opt-in).
 * - sandbox: no kernel, no init of its own: the agent is started with
 *   `--hostname` (src/runtime/sandbox/command.ts) and has no `activate` op.
 */
export async function activateGuest(session: AgentClient, machine: GuestIdentity): Promise<void> {
  if (!session.has("activate")) {
    throw new PyroError("guest_failure", `the guest agent of ${machine.environmentName} (version ${session.hello.agent_version}) cannot be activated`, {
      hint: `the environment was built for an older pyro; re-pull it (pyro env pull ${machine.environmentName})`,
    });
  }
  await session.request("activate", activateRequest(machine));
}

/** The `activate` request body for `machine`, stamped now; `invalid_argument` for a hostname a guest would refuse. */
export function activateRequest(machine: Pick<GuestIdentity, "hostname" | "resumable">): { hostname: string; unix_time_ms?: number; entropy?: string } {
  const hostname = checkHostname(machine.hostname);
  if (!machine.resumable) return { hostname };
  return { hostname, unix_time_ms: Date.now(), entropy: randomBytes(64).toString("base64") };
}
