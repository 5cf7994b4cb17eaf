import type { Pyro } from "../sdk/index.js";
import { toPyroError } from "../sdk/index.js";

/**
 * Reap expired VMs and workspaces now and then every `intervalMs`, as a
 * long-lived server should: an agent never calls `vm_reap_expired` on its own.
 * The timer is unref'd (it never keeps the process alive) and passes never
 * overlap. Lines go to `log` (stderr: stdout belongs to the protocol).
 * Returns a function that stops it.
 */
export function startBackgroundReaper(pyro: Pyro, intervalMs: number, log: (line: string) => void): () => void {
  let running = false;
  const pass = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const result = await pyro.reapExpired();
      if (result.count > 0) log(`[reap] deleted expired ${[...result.reaped_vms, ...result.reaped_workspaces].join(" ")}\n`);
    } catch (error) {
      log(`[reap] failed: ${toPyroError(error).describe()}\n`);
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void pass(), 0);
  const timer = setInterval(() => void pass(), intervalMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
