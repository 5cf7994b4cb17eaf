import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { RecordStore } from "../../src/core/store/records.js";
import { withLock } from "../../src/util/lock.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { runOp, tombstones, until } from "../faults/harness.js";

// Removing a record is atomic: its directory is renamed to a tombstone
// (`.trash-<id>-<random>`) in one rename(2), then removed. A deleter killed -9
// at any moment leaves the id wholly there (record and all) or wholly gone (no
// directory of that name); the next start removes the tombstone and kills
// whatever still ran from it. These run real child SDK processes (dist/).

/** A tree big enough that removing it takes far longer than noticing that it began. */
function fillTree(dir: string, dirs = 40, files = 75): void {
  for (let d = 0; d < dirs; d += 1) {
    const sub = join(dir, "bulk", `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < files; f += 1) writeFileSync(join(sub, `f${f}`), "x");
  }
}

/** Whether the VM is wholly there (status works, record on disk) or wholly gone (not_found, no directory). */
async function wholeness(pyro: Pyro, root: string, id: string): Promise<"there" | "gone"> {
  try {
    await pyro.statusVm({ vm_id: id });
    expect(existsSync(join(root, id, "record.json"))).toBe(true);
    return "there";
  } catch (error) {
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("not_found");
    expect(existsSync(join(root, id)), `${id} is not_found but its directory is still there`).toBe(false);
    return "gone";
  }
}

describe("delete is atomic (a tombstone rename, then the files)", () => {
  it("a deleter killed -9 at any moment leaves the id wholly there or wholly gone; the next start leaves no tombstone", async () => {
    const state = tempStateDir();
    const root = join(state.dir, "vms");
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    try {
      const seen: string[] = [];
      // "removing": killed as soon as removal began (a tombstone, or before the fix the record file gone);
      // the numbers: killed that many ms after the child said it calls delete.
      for (const moment of ["removing", 0, 150, 400, "removing"] as const) {
        const { vm_id: id } = await pyro.createVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true });
        fillTree(join(root, id));
        const deleter = runOp(state.dir, "deleteVm", { vm_id: id });
        let exited = false;
        void deleter.done.then(() => (exited = true));
        await deleter.calling;
        if (moment === "removing") {
          const mine = (): boolean => tombstones(root).some((name) => name.startsWith(`.trash-${id}-`));
          expect(await until(() => exited || mine() || !existsSync(join(root, id, "record.json")), 60_000, 1)).toBe(true);
        } else {
          await until(() => exited, moment, 5);
        }
        try {
          process.kill(deleter.pid, "SIGKILL");
        } catch {
          // It finished first: a whole delete is one outcome too.
        }
        const { code } = await deleter.done;
        seen.push(`${moment}: ${await wholeness(pyro, root, id)}`);
        if (moment === "removing") {
          // The kill landed mid-removal: the tombstone and part of its files are still there.
          expect(code, "the deleter finished before the kill").toBeNull();
          expect(tombstones(root).some((name) => name.startsWith(`.trash-${id}-`))).toBe(true);
        }
      }
      expect(seen.filter((s) => s.startsWith("removing")), seen.join(", ")).toEqual(["removing: gone", "removing: gone"]);
      expect(tombstones(root).length).toBeGreaterThan(0);
      // The tombstones are nobody's id: no record directory but the VMs wholly there.
      const there = seen.filter((s) => s.endsWith("there")).length;
      expect(readdirSync(root).filter((n) => !n.startsWith(".")).length).toBe(there);

      // The next start finishes every removal a killed deleter left.
      await new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false }).close();
      expect(tombstones(root)).toEqual([]);
      expect(readdirSync(root).length).toBe(there);
    } finally {
      await pyro.close();
      state.cleanup();
    }
  }, 300_000);

  it("the next start kills what still runs from a tombstone (under its old name or its new one), then removes it", async () => {
    const state = tempStateDir();
    const root = join(state.dir, "vms");
    const id = "vm-0123456789ab";
    const tomb = join(root, `.trash-${id}-00aa11bb22cc`);
    mkdirSync(join(tomb, "machine"), { recursive: true });
    writeFileSync(join(tomb, "machine", "console.log"), "left behind");
    // A VMM names its machine directory in its arguments; `; :` keeps sh from exec'ing sleep (its child then).
    const strays: ChildProcess[] = [join(root, id, "machine", "disk.img"), join(tomb, "machine")].map((path) =>
      spawn("sh", ["-c", "sleep 600; :", path], { stdio: "ignore" }),
    );
    const ended = strays.map((child) => once(child, "exit"));
    try {
      await new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false }).close();
      expect(tombstones(root)).toEqual([]);
      const signals = await Promise.all(ended.map((exit) => Promise.race([exit.then(([, signal]) => signal as string), new Promise((r) => setTimeout(() => r("still running"), 5000))])));
      expect(signals).toEqual(["SIGKILL", "SIGKILL"]);
    } finally {
      for (const child of strays) child.kill("SIGKILL");
      state.cleanup();
    }
  });

  it("a reap removes a tombstone left while this Pyro was running", async () => {
    const state = tempStateDir();
    const live = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    try {
      await new Promise((r) => setTimeout(r, 200)); // its start-up sweep has run (and found nothing)
      const root = join(state.dir, "vms");
      mkdirSync(join(root, ".trash-vm-00112233aabb-0123456789ab", "machine"), { recursive: true });
      expect(tombstones(root)).toHaveLength(1);
      expect(await live.reapExpired({})).toEqual({ reaped_vms: [], reaped_workspaces: [], count: 0 });
      expect(tombstones(root)).toEqual([]);
    } finally {
      await live.close();
      state.cleanup();
    }
  });

  it("a call waiting for a record's lock while a delete renames it away gets not_found, and no lock makes the directory again", async () => {
    const root = mkdtempSync(join(tmpdir(), "pyro-records-"));
    try {
      const store = new RecordStore<{ schema: number }>(root, "VM", "a deleted VM is gone");
      const id = "vm-00112233aabb";
      await store.create(id, { schema: 1 });
      let waiting: Promise<unknown> = Promise.resolve();
      await store.locked(id, async () => {
        waiting = store.locked(id, async () => "ran", 10_000).catch((error: unknown) => error);
        await new Promise((r) => setTimeout(r, 300)); // the second call polls for the lock by now
        await store.remove(id); // as a reap does, under the lock
      });
      const outcome = await waiting;
      expect(outcome).toBeInstanceOf(PyroError);
      expect((outcome as PyroError).code).toBe("not_found");
      expect(readdirSync(root)).toEqual([]);
      // A lock taken on a record whose directory went between its read and its lock: refused, nothing made.
      await expect(withLock(join(root, id, "record.lock"), async () => "ran", { makeDir: false })).rejects.toBeInstanceOf(PyroError);
      expect(readdirSync(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
