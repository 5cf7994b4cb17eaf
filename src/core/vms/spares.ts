import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Backend, MachineHandle, MachineSpec } from "../../runtime/backend.js";
import { isProcessAlive } from "../../util/process.js";
import { BOOT_TIMEOUT_MS } from "../machines/lifecycle.js";
import { newId } from "../ids.js";

/** How long an unused spare waits before it is discarded. */
const SPARE_IDLE_MS = 60_000;

/** A started machine that becomes the next matching one-shot VM. */
export interface AdoptedSpare {
  /** The VM id the spare was started for (its hostname). */
  id: string;
  /** Its machine directory; the adopter moves it to where the VM's record lives. */
  dir: string;
  handle: MachineHandle;
}

interface Spare {
  key: string;
  id: string;
  /** `<root>/<owner pid>-<id>`: the spare's machine directory, moved by its adopter or removed when it is discarded. */
  home: string;
  backend: Backend;
  handle: Promise<MachineHandle | null>;
  idle: NodeJS.Timeout;
}

/** Pools whose spares die with this process; one exit hook for all of them. */
const livePools = new Set<SpareMachines>();
let exitHookInstalled = false;

/**
 * One warm spare machine per process, for one-shot runs (`vm_run`): after a
 * run adopts the spare, the next one starts in the background, so a
 * long-lived caller (the SDK, the MCP server) pays for a start only when the
 * environment, backend or machine shape changes. Spares exist only on
 * backends with `warm_spares`: their machines are tied to this process (they
 * die with it) and their directory can be moved while they run. Nothing of a
 * spare is recorded: a crash leaves at most its directory, which the next
 * pool in the same state dir removes.
 */
export class SpareMachines {
  private spare: Spare | null = null;
  private swept = false;
  private closed = false;

  /** `root`: where spares live (`<state>/spares`). */
  constructor(private readonly root: string) {}

  /**
   * The spare for `key`, if one was prepared and is running; the caller then
   * owns it. Waits for a spare that is still starting.
   */
  async take(key: string): Promise<AdoptedSpare | null> {
    const spare = this.spare;
    if (!spare || spare.key !== key) return null;
    this.forget(spare);
    const handle = await spare.handle;
    if (!handle || !spare.backend.isRunning(handle)) {
      void discardNow(spare, handle);
      return null;
    }
    return { id: spare.id, dir: spare.home, handle };
  }

  /**
   * Start a spare for `key` in the background, replacing a spare for another
   * key. `specFor` builds the machine from the id and directory chosen here.
   * Failures are silent: the next run starts its machine itself.
   */
  prepare(key: string, backend: Backend, specFor: (id: string, dir: string) => MachineSpec): void {
    if (this.closed || !backend.capabilities.warm_spares || this.spare?.key === key) return;
    this.discard();
    this.sweep();
    const id = newId("vm");
    const home = join(this.root, `${process.pid}-${id}`);
    const handle = (async () => {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      return backend.start(specFor(id, home), { bootTimeoutMs: BOOT_TIMEOUT_MS, tiedToCaller: true });
    })().catch(() => {
      rmSync(home, { recursive: true, force: true });
      return null;
    });
    const spare: Spare = { key, id, home, backend, handle, idle: setTimeout(() => this.discard(), SPARE_IDLE_MS).unref() };
    this.spare = spare;
    livePools.add(this);
    installExitHook();
  }

  /** Kill the spare, if any, and remove its files (in the background). */
  discard(): void {
    const spare = this.spare;
    if (!spare) return;
    this.forget(spare);
    // A spare still starting is discarded once its start settles.
    void spare.handle.then((handle) => discardNow(spare, handle));
  }

  /**
   * Kill the spare, if any (waiting for one still starting), remove its files,
   * and prepare no other: the owner (`Pyro#close()`) is done with this pool.
   */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    if (!spare) return;
    this.forget(spare);
    await discardNow(spare, await spare.handle);
  }

  /**
   * At process exit, where promises no longer run: remove the spare's files
   * synchronously. The machine itself dies with the process (it is tied to it).
   */
  discardAtExit(): void {
    const spare = this.spare;
    if (!spare) return;
    this.forget(spare);
    // The machine dies with this process anyway; its files do not.
    rmSync(spare.home, { recursive: true, force: true });
  }

  private forget(spare: Spare): void {
    clearTimeout(spare.idle);
    this.spare = null;
    livePools.delete(this);
  }

  /** Remove spare directories left by processes that are gone (a crash skips the exit hook). */
  private sweep(): void {
    if (this.swept) return;
    this.swept = true;
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return;
    }
    for (const name of names) {
      const owner = Number(name.split("-", 1)[0]);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !isProcessAlive(owner)) {
        rmSync(join(this.root, name), { recursive: true, force: true });
      }
    }
  }
}

/** Kill a spare's machine and remove its directory; settles when both are done. */
async function discardNow(spare: Spare, handle: MachineHandle | null): Promise<void> {
  if (handle) await spare.backend.kill(handle).catch(() => undefined);
  rmSync(spare.home, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pool of [...livePools]) pool.discardAtExit();
  });
}
