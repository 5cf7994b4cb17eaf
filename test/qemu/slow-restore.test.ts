import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshotsRoot } from "../../src/environments/snapshots.js";
import type { InstalledEnvironment } from "../../src/environments/types.js";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { QemuBackend } from "../../src/runtime/qemu/index.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase, guestExec, machineSpec } from "./helpers.js";

// A boot-snapshot resume that is merely slow (a loaded host) must not throw the snapshot away:
// every later machine of the shape would then boot cold, which loads the host further.
describe.skipIf(!QEMU_AVAILABLE)(`a slow boot-snapshot resume keeps the snapshot (needs ${QEMU_NEEDS})`, () => {
  const root = mkdtempSync(join(tmpdir(), "pyro-slow-restore-"));
  const env = { ...process.env, PYRO_STATE_DIR: join(root, "state") };
  const backend = new QemuBackend({ env });
  // QEMU reads the saved state through `exec:cat FILE` (args.ts): a `cat` first on QEMU's PATH that
  // waits 25 s makes the resume slower than its 20 s bound, deterministically.
  const slowBin = join(root, "slow-bin");
  const slow = new QemuBackend({ env: { ...env, PATH: `${slowBin}:${process.env.PATH}` } });
  const running: Array<{ spec: MachineSpec; handle: MachineHandle }> = [];
  let environment: InstalledEnvironment;

  const start = async (name: string, on: QemuBackend) => {
    const spec = machineSpec(join(root, name), environment, { id: name, hostname: name, vcpuCount: 1, memMib: 256 });
    const lines: string[] = [];
    const handle = await on.start(spec, { bootTimeoutMs: 240_000, onProgress: (m) => lines.push(m) });
    running.push({ spec, handle });
    return { spec, handle, lines };
  };
  const phases = (lines: string[]) => lines.map((l) => l.split(" ")[0]);

  beforeAll(async () => {
    // A snapshot store of this suite's own: the environment, seen through an empty cache dir.
    environment = { ...(await debianBase()), cacheDir: join(root, "cache") };
    mkdirSync(slowBin);
    writeFileSync(join(slowBin, "cat"), "#!/bin/sh\nsleep 25\nexec /bin/cat \"$@\"\n");
    chmodSync(join(slowBin, "cat"), 0o755);
  }, 600_000);

  afterAll(async () => {
    for (const m of running) {
      await backend.kill(m.handle);
      await backend.cleanup(m.spec);
    }
    rmSync(root, { recursive: true, force: true });
  });

  it("boots the machine instead, keeps the snapshot file as it was, and the next machine resumes it", async () => {
    const first = await start("first", backend);
    expect(phases(first.lines)).toContain("phase=snapshot-saved");
    const [key] = readdirSync(snapshotsRoot(environment.cacheDir!));
    const vmstate = join(snapshotsRoot(environment.cacheDir!), key!, "vmstate");
    const before = statSync(vmstate);

    const slowed = await start("slowed", slow);
    const failed = slowed.lines.find((l) => l.startsWith("phase=restore-failed"));
    expect(failed, slowed.lines.join("\n")).toContain("kept=true");
    expect(phases(slowed.lines)).toContain("phase=boot");
    // Kept, not re-saved: the same file, untouched.
    expect(phases(slowed.lines)).not.toContain("phase=snapshot-saved");
    expect(existsSync(vmstate)).toBe(true);
    expect(statSync(vmstate).ino).toBe(before.ino);
    expect(statSync(vmstate).mtimeMs).toBe(before.mtimeMs);
    expect((await guestExec(backend, slowed.spec, slowed.handle, ["hostname"])).stdout.trim()).toBe("slowed");

    const next = await start("next", backend);
    expect(phases(next.lines)).toContain("phase=restore");
    expect(phases(next.lines)).not.toContain("phase=restore-failed");
    expect(phases(next.lines)).not.toContain("phase=boot");
  }, 900_000);
});
