import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerApiClient } from "../../src/runtime/firecracker/api-client.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { FC_MEMORY_FILE, FC_STATE_FILE, firecrackerSnapshotKey, loadParked } from "../../src/runtime/firecracker/snapshot.js";
import { draftSnapshot, findSnapshot } from "../../src/environments/snapshots.js";
import { PyroError } from "../../src/util/errors.js";
import { sleep, spawnDetached } from "../../src/util/process.js";
import { firecrackerRelease, type FirecrackerRelease } from "../helpers/firecracker-release.js";
import { fakeMachine, tempDir } from "./helpers.js";

// The snapshot calls of Firecracker parking against the real v1.12.1 binary,
// as far as they go without a guest (none boots under this host's KVM):
// restoring a snapshot whose files are missing or not a snapshot. What needs
// a guest (create, a restore that succeeds) is proven against the
// spec-validating fake (parking.test.ts).
const KVM_RW = existsSync("/dev/kvm") && spawnSync("test", ["-r", "/dev/kvm", "-a", "-w", "/dev/kvm"]).status === 0;

describe.skipIf(!KVM_RW)("Firecracker snapshot restore with the real v1.12.1 binary (needs a read-writable /dev/kvm)", () => {
  let release: FirecrackerRelease;
  let tmp: ReturnType<typeof tempDir>;
  const pids: number[] = [];
  beforeAll(() => {
    release = firecrackerRelease();
  });
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    tmp.remove();
  });

  /** A fresh real Firecracker with its API up. */
  async function freshVmm(): Promise<FirecrackerApiClient> {
    const socket = join(tmp.dir, "api.sock");
    const proc = await spawnDetached(release.firecracker, ["--api-sock", socket, "--id", "snaptest"], { stdoutPath: join(tmp.dir, "out.log"), stderrPath: join(tmp.dir, "err.log"), cwd: tmp.dir, env: { PATH: process.env.PATH } });
    pids.push(proc.pid);
    const client = new FirecrackerApiClient(socket, { timeoutMs: 5000 });
    for (let i = 0; ; i++) {
      try {
        await client.describeInstance();
        return client;
      } catch (error) {
        if (i > 300) throw error;
        await sleep(10);
      }
    }
  }

  it("a restore of missing files: the binary refuses PUT /snapshot/load and parking says which snapshot and why", async () => {
    const client = await freshVmm();
    const error = (await loadParked(client, join(tmp.dir, "no-such-snapshot")).then(() => undefined, (e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("guest_failure");
    expect(error.message).toMatch(new RegExp(`^firecracker could not load the boot snapshot ${join(tmp.dir, "no-such-snapshot")}: .*No such file or directory`));
    expect(error.details?.fault_message).toMatch(/No such file or directory/);
    expect(error.hint).toMatch(/boots machines of this shape until it saves a new one/);
    // The fake (fixtures/fake-api-server.mjs) answers a missing file with this same text.
    expect(error.details?.fault_message).toBe("Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Failed to open snapshot file: No such file or directory (os error 2)");
    // A failed restore ends the real VMM (which is why park kills what is left and the pool starts another).
    await sleep(200);
    expect(await client.describeInstance().then(() => "answering", (e: PyroError) => e.message)).toMatch(/not accepting connections/);
  });

  it("park of a stored snapshot whose files are not a snapshot: the real binary refuses it, the VMM is killed, the snapshot discarded", async () => {
    const made = fakeMachine(tmp.dir, "vm0");
    const cacheDir = join(tmp.dir, "cache");
    const spec: MachineSpec = { ...made, id: "pool1", dir: join(tmp.dir, "vms", "pool1"), environment: { ...made.environment, cacheDir } };
    const fc = new FirecrackerBackend({ jailed: false, bootSnapshots: true, env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: release.firecracker } });
    const kernel = { kernel: spec.environment.kernel!.vmlinux!, initrd: spec.environment.kernel!.initramfs };
    const { key, sources } = firecrackerSnapshotKey(spec, release.firecracker, kernel, 10000);
    const draft = await draftSnapshot(cacheDir, key, "firecracker", sources);
    writeFileSync(join(draft.dir, FC_STATE_FILE), "not a snapshot");
    writeFileSync(join(draft.dir, FC_MEMORY_FILE), Buffer.alloc(4096));
    await draft.publish([FC_STATE_FILE, FC_MEMORY_FILE]);
    expect(await fc.parking!.parkKey(spec)).toBe(key);
    const error = (await fc.parking!.park(spec).then((h: MachineHandle) => (pids.push(h.pid), undefined), (e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.message).toMatch(/^firecracker could not load the boot snapshot .*: \S/);
    expect(findSnapshot(cacheDir, key)).toBeUndefined();
    // Its VMM is gone (killed by park), nothing left answering on its socket.
    const left = spawnSync("pgrep", ["-f", join(spec.dir, "firecracker.api.sock")], { encoding: "utf8" }).stdout.trim();
    expect(left).toBe("");
  });
});
