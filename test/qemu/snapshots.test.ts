import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import { draftSnapshot, fileStamp, snapshotsRoot } from "../../src/environments/snapshots.js";
import type { InstalledEnvironment } from "../../src/environments/types.js";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { QemuBackend } from "../../src/runtime/qemu/index.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase, guestExec, machineSpec } from "./helpers.js";

const BOOT_TIMEOUT_MS = 240_000;

/** What a guest says about itself: hostname, clock, 16 random bytes, whether its root is writable. */
const SELF_REPORT = "hostname; date +%s; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; touch /root/written && echo writable";

describe.skipIf(!QEMU_AVAILABLE)(`qemu boot snapshots on real VMs under TCG (needs ${QEMU_NEEDS})`, () => {
  const root = mkdtempSync(join(tmpdir(), "pyro-qs-"));
  const backend = new QemuBackend({ env: { ...process.env, PYRO_STATE_DIR: join(root, "state") } });
  const running: Array<{ spec: MachineSpec; handle: MachineHandle }> = [];
  let env: InstalledEnvironment;
  /** A snapshot store of this suite's own: the environment, seen through an empty cache dir. */
  let cacheDir: string;

  const start = async (name: string, extra: Partial<MachineSpec> = {}, on: QemuBackend = backend) => {
    const spec = machineSpec(join(root, name), { ...env, cacheDir }, { id: name, hostname: name, ...extra });
    const phases: string[] = [];
    const handle = await on.start(spec, { bootTimeoutMs: BOOT_TIMEOUT_MS, onProgress: (m) => phases.push(m.split(" ")[0]!) });
    running.push({ spec, handle });
    return { spec, handle, phases };
  };
  const selfReport = async (m: { spec: MachineSpec; handle: MachineHandle }) => {
    const r = await guestExec(backend, m.spec, m.handle, ["sh", "-c", SELF_REPORT]);
    expect(r.exit_code, r.stderr).toBe(0);
    const [hostname, clock, random, writable] = r.stdout.trim().split("\n");
    return { hostname, clock: Number(clock), random, writable };
  };
  const snapshotDirs = () => (existsSync(snapshotsRoot(cacheDir)) ? readdirSync(snapshotsRoot(cacheDir)) : []);

  beforeAll(async () => {
    env = await debianBase();
    cacheDir = join(root, "cache");
  }, 600_000);

  afterAll(async () => {
    for (const m of running) {
      await backend.kill(m.handle);
      await backend.cleanup(m.spec);
    }
    rmSync(root, { recursive: true, force: true });
  });

  it("the first machine of a shape boots and saves the snapshot; later ones resume it, each with its own hostname, clock, random state and writable root", async () => {
    // A snapshot of an image that has since changed: the next save removes it.
    const oldImage = join(root, "old-image.ext4");
    writeFileSync(oldImage, "old");
    const stale = await draftSnapshot(cacheDir, "qemu-stale", "qemu", [fileStamp(oldImage)]);
    writeFileSync(join(stale.dir, "vmstate"), "state");
    await stale.publish(["vmstate"]);
    writeFileSync(oldImage, "re-pulled");

    const first = await start("snap-a");
    expect(first.phases).toContain("phase=boot");
    expect(first.phases).toContain("phase=snapshot-saved");
    expect(first.phases).toContain("phase=snapshot-pruned");
    expect(snapshotDirs()).toHaveLength(1);
    expect(snapshotDirs()).not.toContain("qemu-stale");

    const resumed = [await start("snap-b"), await start("snap-c")];
    for (const m of resumed) {
      expect(m.phases).toContain("phase=restore");
      expect(m.phases).not.toContain("phase=boot");
    }
    const reports = await Promise.all([first, ...resumed].map(selfReport));
    expect(reports.map((r) => r.hostname)).toEqual(["snap-a", "snap-b", "snap-c"]);
    for (const r of reports) {
      expect(Math.abs(r.clock - Date.now() / 1000)).toBeLessThan(10);
      expect(r.random).toMatch(/^[0-9a-f]{32}$/);
      expect(r.writable).toBe("writable");
    }
    // Resumed from one saved state, yet no two share the random pool.
    expect(new Set(reports.map((r) => r.random)).size).toBe(3);
    // A write in one machine is not seen by another resumed from the same state.
    const seen = await guestExec(backend, resumed[1]!.spec, resumed[1]!.handle, ["sh", "-c", "echo only-b > /root/mine; ls /root"]);
    expect(seen.stdout).toContain("mine");
    expect((await guestExec(backend, resumed[0]!.spec, resumed[0]!.handle, ["ls", "/root"])).stdout).not.toContain("mine");
  });

  it("a snapshot that fails to resume is discarded; the machine boots instead and saves a new one", async () => {
    const [key] = snapshotDirs();
    const vmstate = join(snapshotsRoot(cacheDir), key!, "vmstate");
    writeFileSync(vmstate, Buffer.alloc(statSync(vmstate).size, 0x5a)); // same size, garbage content
    const m = await start("snap-d");
    expect(m.phases).toEqual(expect.arrayContaining(["phase=restore", "phase=restore-failed", "phase=boot", "phase=snapshot-saved"]));
    expect((await selfReport(m)).hostname).toBe("snap-d");
    expect(snapshotDirs()).toEqual([key]);
    expect((await start("snap-e")).phases).toContain("phase=restore");
  });

  it("a machine whose disk was written boots on its next start instead of resuming, and keeps what it wrote", async () => {
    const m = await start("snap-raw", { rootDisk: "raw" });
    expect(m.phases).toContain("phase=restore");
    expect((await guestExec(backend, m.spec, m.handle, ["sh", "-c", "echo kept > /root/kept && sync"])).exit_code).toBe(0);
    const client = await AgentClient.connect(await backend.connect(m.spec, m.handle), { helloTimeoutMs: 30_000 });
    await client.request("shutdown", { action: "poweroff" }).catch(() => undefined);
    await client.close();
    await backend.stop(m.spec, m.handle, 60_000);

    const phases: string[] = [];
    const handle = await backend.start(m.spec, { bootTimeoutMs: BOOT_TIMEOUT_MS, onProgress: (line) => phases.push(line.split(" ")[0]!) });
    running.push({ spec: m.spec, handle });
    expect(phases).toContain("phase=boot");
    expect(phases).not.toContain("phase=restore");
    expect((await guestExec(backend, m.spec, handle, ["cat", "/root/kept"])).stdout).toBe("kept\n");
    expect((await guestExec(backend, m.spec, handle, ["hostname"])).stdout).toBe("snap-raw\n");
  });

  it("with snapshots off (PYRO_QEMU_SNAPSHOTS=0) a machine boots and saves nothing", async () => {
    const off = new QemuBackend({ env: { ...process.env, PYRO_STATE_DIR: join(root, "state"), PYRO_QEMU_SNAPSHOTS: "0" } });
    const before = snapshotDirs();
    const m = await start("snap-off", {}, off);
    expect(m.phases).toContain("phase=boot");
    expect(m.phases).not.toContain("phase=snapshot-saved");
    expect(snapshotDirs()).toEqual(before);
    expect((await selfReport(m)).hostname).toBe("snap-off");
  });
});
