import { randomBytes } from "node:crypto";
import type { AgentClient } from "../../agent-client/index.js";
import { PyroError } from "../../util/errors.js";

/**
 * The identity step, the same for every VM backend: once the agent answers,
 * the host sends its `activate` op (protocol/SPEC.md) with the machine's
 * hostname, the host's clock and fresh entropy; the agent makes the root
 * writable, writes resolv.conf from `pyro.net=`, and applies the three. The
 * kernel command line holds nothing of one machine, so a booted state can be
 * resumed by many (qemu boot snapshots) and Firecracker's guest gets its
 * identity the same way.
 *
 * Which path each backend takes:
 * - qemu: {@link activateGuest} after boot or snapshot resume.
 * - firecracker: {@link activateGuest} after boot (its agent is the guest's init).
 * - sandbox: no kernel, no init of its own: the agent is started with
 *   `--hostname` (src/runtime/sandbox/command.ts) and has no `activate` op.
 */
export async function activateGuest(session: AgentClient, machine: { hostname: string; environmentName: string }): Promise<void> {
  if (!session.has("activate")) {
    throw new PyroError("guest_failure", `the guest agent of ${machine.environmentName} (version ${session.hello.agent_version}) cannot be activated`, {
      hint: `the environment was built for an older pyro; re-pull it (pyro env pull ${machine.environmentName})`,
    });
  }
  await session.request("activate", activateRequest(machine.hostname));
}

/** The `activate` request body for `hostname`, stamped now. */
export function activateRequest(hostname: string): { hostname: string; unix_time_ms: number; entropy: string } {
  return { hostname, unix_time_ms: Date.now(), entropy: randomBytes(64).toString("base64") };
}
