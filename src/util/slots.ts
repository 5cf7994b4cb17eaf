import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PyroError } from "./errors.js";
import { isOwnerAlive, lockHolder, tryAcquireLock, type LockOwner } from "./lock.js";

/** A slot taken by {@link acquireSlot}. */
export interface Slot {
  /** Which of the `count` slots (0-based): its lock file is `slot-<index>.lock`. */
  readonly index: number;
  /** How long the caller waited for it. */
  readonly waitedMs: number;
  /** Give it back; idempotent, and never frees a slot someone else took since. */
  release(): Promise<void>;
}

/** Options of {@link acquireSlot}. */
export interface SlotOptions {
  /** Stop waiting: the call rejects with the signal's reason, holding nothing. */
  signal?: AbortSignal;
  /** How often to look for a free slot (default 100 ms, plus up to half of it at random so waiters do not move in step). */
  pollMs?: number;
  /** Give up with `busy` after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Called once, when every slot is held and the caller starts to wait, with the live holders. */
  onWait?: (holders: LockOwner[]) => void;
}

/** The lock file of slot `index` under `dir`. */
export function slotPath(dir: string, index: number): string {
  return join(dir, `slot-${index}.lock`);
}

/** The live holders of the `count` slots under `dir` (a dead holder's slot counts as free). */
export async function slotHolders(dir: string, count: number): Promise<LockOwner[]> {
  const holders: LockOwner[] = [];
  for (let i = 0; i < count; i++) {
    const owner = await lockHolder(slotPath(dir, i));
    if (owner && isOwnerAlive(owner)) holders.push(owner);
  }
  return holders;
}

/**
 * Take one of `count` slots under `dir`, shared by every process of this host
 * that uses the same directory: a counting semaphore made of `count` lock
 * files (lock.ts), so a holder that dies, even by SIGKILL, frees its slot
 * (the next waiter breaks its lock: its pid is gone or was reused). Waits,
 * polling, until one is free. Aborting `signal` rejects at once with its
 * reason and leaves every slot as it was; a slot won in the same instant is
 * given back first.
 */
export async function acquireSlot(dir: string, count: number, options: SlotOptions = {}): Promise<Slot> {
  if (!Number.isInteger(count) || count < 1) throw new PyroError("invalid_argument", `a slot count must be a positive integer, not ${count}`);
  const pollMs = options.pollMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const started = Date.now();
  let announced = false;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new PyroError("io_error", `cannot create the slot directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: `make ${dir} writable by this user`,
      cause: error,
    });
  }
  for (;;) {
    options.signal?.throwIfAborted();
    // Start at a random slot: waiters spread over the files instead of all trying slot 0 first.
    const first = Math.floor(Math.random() * count);
    for (let k = 0; k < count; k++) {
      const index = (first + k) % count;
      const release = await tryAcquireLock(slotPath(dir, index));
      if (!release) continue;
      if (options.signal?.aborted) {
        await release();
        options.signal.throwIfAborted();
      }
      return { index, waitedMs: Date.now() - started, release };
    }
    if (!announced) {
      announced = true;
      options.onWait?.(await slotHolders(dir, count));
    }
    if (Date.now() - started >= timeoutMs) {
      const holders = await slotHolders(dir, count);
      throw new PyroError("busy", `all ${count} slots under ${dir} stayed held for ${Math.round(timeoutMs / 1000)} s (by pids ${holders.map((h) => h.pid).join(", ") || "none alive"})`, {
        hint: "wait for those processes to finish, or stop them; a slot of a dead process is freed automatically",
        details: { dir, count, holder_pids: holders.map((h) => h.pid) },
      });
    }
    try {
      await sleep(pollMs + Math.floor(Math.random() * (pollMs / 2)), undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      // Aborted while asleep: the loop's first line rejects with the signal's own reason.
    }
  }
}
