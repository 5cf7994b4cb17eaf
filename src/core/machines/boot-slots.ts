import { join } from "node:path";
import type { Backend } from "../../runtime/backend.js";
import { acquireSlot, slotHolders } from "../../util/slots.js";
import { currentCallSignal } from "../call-scope.js";
import type { CoreContext } from "../context.js";

/** Where the boot slots of a state dir live: `slot-<n>.lock` files (util/slots.ts). */
export function bootSlotsDir(context: Pick<CoreContext, "stateDir">): string {
  return join(context.stateDir, "boot-slots");
}

/** The boot slots of the state dir and how many live processes hold one now (doctor). */
export async function bootSlotsSummary(context: CoreContext): Promise<{ slots: number; booting: number }> {
  const slots = context.config.bootSlots;
  return { slots, booting: slots === 0 ? 0 : (await slotHolders(bootSlotsDir(context), slots)).length };
}

/**
 * Run `boot` (a machine booting, restoring its boot snapshot, resuming its
 * saved memory, or a pooled machine being handed out) once this process holds
 * one of the state dir's `PYRO_BOOT_SLOTS` boot slots (default: one per CPU),
 * shared by every pyro process of the state dir. Under software emulation a
 * booting guest keeps a host CPU busy; twenty at once on two CPUs each take
 * ten times as long, and the slowest miss their deadlines. With slots, the
 * machines beyond the limit wait (`phase=wait-boot-slot`), and `boot` starts
 * its own deadlines only when it runs, so waiting costs none of them.
 *
 * Only backends that boot a guest kernel take a slot (a sandbox starts in
 * milliseconds). The wait ends early when the current call is aborted (an
 * SDK `signal`, an MCP cancellation, Ctrl-C in the CLI): it then rejects with
 * the abort's reason, holding nothing and having started nothing. A holder
 * that dies, even by SIGKILL, frees its slot.
 */
export async function withBootSlot<R>(context: CoreContext, backend: Backend, tag: string, boot: () => Promise<R>): Promise<R> {
  const count = context.config.bootSlots;
  if (count === 0 || !backend.capabilities.vm_boot) return boot();
  const signal = currentCallSignal();
  let waited = false;
  const slot = await acquireSlot(bootSlotsDir(context), count, {
    ...(signal ? { signal } : {}),
    onWait: (holders) => {
      waited = true;
      context.progress(`${tag} phase=wait-boot-slot slots=${count} booting_pids=${holders.map((h) => h.pid).join(",") || "none"}`);
    },
  });
  if (waited) context.progress(`${tag} phase=boot-slot slot=${slot.index} waited_ms=${slot.waitedMs}`);
  try {
    return await boot();
  } finally {
    await slot.release();
  }
}
