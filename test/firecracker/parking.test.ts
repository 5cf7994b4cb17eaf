import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { VM_FILES } from "../../src/runtime/firecracker/constants.js";
import { FC_MEMORY_FILE, FC_STATE_FILE, firecrackerSnapshotKey } from "../../src/runtime/firecracker/snapshot.js";
import { findSnapshot } from "../../src/environments/snapshots.js";
import { isProcessAlive } from "../../src/util/process.js";
import { PyroError } from "../../src/util/errors.js";
import { bootVector } from "../guest-boot/vectors.js";
import { FAKE_FIRECRACKER, FAKE_GUEST_UNAVAILABLE, fakeGuestEnv, fakeMachine, killStarted, readCalls, tempDir } from "./helpers.js";

// Firecracker's boot snapshots and parking (src/runtime/firecracker/parking.ts,
// snapshot.ts) against the spec-validating fake: every request the backend
// sends is checked against the official v1.16.1 API spec (a request the spec
// refuses is answered 400 and fails the step). The fake cannot save a guest's
// memory: a restore stands a fresh fake guest up from the saved boot source.
const itGuest = it.skipIf(FAKE_GUEST_UNAVAILABLE !== undefined);

describe("Firecracker boot snapshots and the pool's parking, to the snapshot API", () => {
  let tmp: ReturnType<typeof tempDir>;
  let cacheDir: string;
  let record: string;
  const handles: MachineHandle[] = [];
  let base: MachineSpec;
  /** A machine of the one environment (made once: its files' stamps are in the snapshot key). */
  const spec = (id: string): MachineSpec => ({ ...base, id, dir: join(tmp.dir, "vms", id), hostname: `pyro-${id}` });
  const backend = (): FirecrackerBackend =>
    new FirecrackerBackend({
      jailed: false,
      bootSnapshots: true,
      env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER, FAKE_FC_RECORD: record, ...fakeGuestEnv(tmp.dir) },
    });
  const snapshotOf = (s: MachineSpec) => findSnapshot(cacheDir, firecrackerSnapshotKey(s, FAKE_FIRECRACKER, { kernel: s.environment.kernel!.vmlinux!, initrd: s.environment.kernel!.initramfs }, 10000).key);
  const requests = () => readCalls(record).map((c) => `${c.method} ${c.path}`);

  beforeEach(() => {
    tmp = tempDir();
    cacheDir = join(tmp.dir, "cache");
    record = join(tmp.dir, "calls.jsonl");
    const made = fakeMachine(tmp.dir, "vm0");
    base = { ...made, environment: { ...made.environment, cacheDir } };
  });
  afterEach(async () => {
    await killStarted(handles);
    tmp.remove();
  });

  itGuest("the first boot of a shape saves its state (Paused, snapshot/create, Resumed) before activate; every request passes the spec", async () => {
    const fc = backend();
    const first = spec("vm1");
    const phases: string[] = [];
    handles.push(await fc.start(first, { bootTimeoutMs: 10_000, onProgress: (p) => phases.push(p) }));
    const calls = readCalls(record);
    expect(calls.filter((c) => c.status >= 300), JSON.stringify(calls)).toEqual([]);
    expect(requests().slice(-4)).toEqual(["PUT /actions", "PATCH /vm", "PUT /snapshot/create", "PATCH /vm"]);
    expect(calls.filter((c) => c.path === "/vm").map((c) => c.body)).toEqual([{ state: "Paused" }, { state: "Resumed" }]);
    const snapshot = snapshotOf(first);
    expect(snapshot).toBeDefined();
    expect(calls.find((c) => c.path === "/snapshot/create")?.body).toEqual({
      // Written into a draft of the snapshot store, published by rename once complete.
      snapshot_path: expect.stringMatching(/\/snapshots\/\.draft\.\d+\.[0-9a-f]+\/vmstate$/),
      mem_file_path: expect.stringMatching(/\/snapshots\/\.draft\.\d+\.[0-9a-f]+\/memory$/),
      snapshot_type: "Full",
    });
    expect(phases.some((p) => p.startsWith("phase=snapshot-saved"))).toBe(true);
    // Snapshot-safe: read-only root until activate; disk and vsock named relative to the VMM's directory, so the state fits any machine directory.
    const boot = calls.find((c) => c.path === "/boot-source")?.body as { boot_args: string };
    expect(boot.boot_args).toBe(bootVector("firecracker-snapshot").cmdline);
    expect(boot.boot_args).toMatch(/ root=\/dev\/vda ro .*pyro\.activate/);
    expect((calls.find((c) => c.path === "/drives/rootfs")?.body as { path_on_host: string }).path_on_host).toBe(VM_FILES.rootDisk);
    expect((calls.find((c) => c.path === "/vsock")?.body as { uds_path: string }).uds_path).toBe(VM_FILES.vsockSocket);

    // The next machine of the shape boots without saving again.
    rmSync(record);
    handles.push(await fc.start(spec("vm2"), { bootTimeoutMs: 10_000 }));
    expect(requests()).not.toContain("PUT /snapshot/create");
    expect(requests()).not.toContain("PATCH /vm");
  });

  itGuest("park restores the snapshot paused (snapshot/load, resume_vm false); unpark in another directory resumes it and activates it", async () => {
    const fc = backend();
    handles.push(await fc.start(spec("vm1"), { bootTimeoutMs: 10_000 }));
    const pooled = spec("pool1");
    expect(await fc.parking!.parkKey(pooled)).toMatch(/^firecracker-[0-9a-f]{32}$/);
    rmSync(record);
    const parked = await fc.parking!.park(pooled);
    handles.push(parked);
    const snapshot = snapshotOf(pooled)!;
    const calls = readCalls(record);
    expect(calls.filter((c) => c.status >= 300), JSON.stringify(calls)).toEqual([]);
    expect(requests().filter((r) => r !== "GET /")).toEqual(["PUT /logger", "PUT /metrics", "PUT /snapshot/load"]);
    expect(calls.find((c) => c.path === "/snapshot/load")?.body).toEqual({
      snapshot_path: join(snapshot.dir, FC_STATE_FILE),
      mem_backend: { backend_type: "File", backend_path: join(snapshot.dir, FC_MEMORY_FILE) },
      resume_vm: false,
    });
    expect(await fc.parking!.parkedState(parked, pooled.dir)).toBe("ready");

    // The pool hands it out: its directory is renamed into the machine's.
    const taker = spec("vm3");
    renameSync(pooled.dir, taker.dir);
    expect(await fc.parking!.parkedState(parked, taker.dir)).toBe("ready");
    rmSync(record);
    const unparked = fc.parking!.unpark(taker, parked, { bootTimeoutMs: 10_000 });
    // The restored (stand-in) guest answered the hello, and activate reached it with the host's clock and entropy:
    // the fake guest is a user namespace, which may set neither the host's clock nor its entropy, so both are refused there.
    // Both steps of a resumable activation reached the agent: the clock and the entropy.
    await expect(unparked).rejects.toThrow(/activate failed in the guest: activate: set clock: operation not permitted\s+reseed: RNDADDENTROPY/);
    expect(requests()).toContain("PATCH /vm");
    expect(readCalls(record).find((c) => c.path === "/vm")).toMatchObject({ body: { state: "Resumed" }, status: 204 });
    // A failed hand-out kills the machine.
    expect(isProcessAlive(parked.pid, parked.pidStartTime)).toBe(false);
  });

  itGuest("a snapshot Firecracker cannot load fails the park with a clear error and is discarded", async () => {
    const fc = backend();
    handles.push(await fc.start(spec("vm1"), { bootTimeoutMs: 10_000 }));
    const pooled = spec("pool1");
    const snapshot = snapshotOf(pooled)!;
    // Cut the memory file out from under the stored snapshot after findSnapshot's check: Firecracker finds it missing.
    const parking = fc.parking!;
    const park = parking.park(pooled);
    rmSync(join(snapshot.dir, FC_MEMORY_FILE));
    const error = (await park.then(() => undefined, (e: unknown) => e)) as PyroError;
    if (error === undefined) throw new Error("park resolved although the snapshot's memory file was gone");
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(/firecracker could not load the boot snapshot .*: Load snapshot error/);
    expect(error.hint).toMatch(/boots machines of this shape until it saves a new one/);
    expect(existsSync(snapshot.dir)).toBe(false);
    expect(await parking.parkKey(spec("pool2"))).toBeNull();
  });
});
