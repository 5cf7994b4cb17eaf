import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, copyFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-client/index.js";
import type { InstalledEnvironment } from "../../src/environments/types.js";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { QemuBackend, qemuLayout } from "../../src/runtime/qemu/index.js";
import { PyroError } from "../../src/util/errors.js";
import { isProcessAlive } from "../../src/util/process.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase, guestExec, machineSpec, transpileForChildren } from "./helpers.js";

const BOOT_TIMEOUT_MS = 240_000;
const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
const hasMkfs = spawnSync("sh", ["-c", "command -v mkfs.ext4"]).status === 0;

async function rejection(promise: Promise<unknown>): Promise<PyroError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

describe.skipIf(!QEMU_AVAILABLE)(`qemu backend on real VMs under TCG (needs ${QEMU_NEEDS})`, () => {
  const root = mkdtempSync(join(tmpdir(), "pyro-q-"));
  const backend = new QemuBackend({ env: { ...process.env, PYRO_STATE_DIR: join(root, "state") } });
  let env: InstalledEnvironment;
  let spec: MachineSpec;
  let handle: MachineHandle | undefined;

  beforeAll(async () => {
    env = await debianBase();
    spec = machineSpec(join(root, "vm"), env, { hostname: "pyro-qemu-a" });
    handle = await backend.start(spec, { bootTimeoutMs: BOOT_TIMEOUT_MS, onProgress: (m) => process.stderr.write(`[qemu-test] ${m}\n`) });
  }, BOOT_TIMEOUT_MS + 600_000);

  afterAll(async () => {
    if (handle) await backend.kill(handle);
    if (spec) await backend.cleanup(spec);
    rmSync(root, { recursive: true, force: true });
  });

  it("runs the guest's own kernel with pyro's command line", async () => {
    const uname = await guestExec(backend, spec, handle!, ["uname", "-r"]);
    expect(uname.exit_code).toBe(0);
    expect(uname.stdout.trim()).toBe(env.kernel!.release);
    const cmdline = await guestExec(backend, spec, handle!, ["cat", "/proc/cmdline"]);
    // The identity comes from the host's activate, not the command line.
    expect(cmdline.stdout).toContain("pyro.activate");
    expect((await guestExec(backend, spec, handle!, ["hostname"])).stdout).toBe("pyro-qemu-a\n");
    expect(cmdline.stdout).toMatch(/tsc_early_khz=\d+/);
    expect(cmdline.stdout).toContain("root=/dev/vda");
    // No network device at all with network "off".
    const net = await guestExec(backend, spec, handle!, ["sh", "-c", "ls /sys/class/net"]);
    expect(net.stdout.split(/\s+/).filter(Boolean)).toEqual(["lo"]);
    // Sockets and locks are private.
    const layout = qemuLayout(spec.dir);
    expect(spawnSync("stat", ["-c", "%a", layout.agentSockets[0]!, layout.qmpSocket]).stdout.toString().split("\n").filter(Boolean)).toEqual(["600", "600"]);
  });

  it("serves 5 concurrent connections from separate processes", async () => {
    const out = transpileForChildren();
    const child = join(out, "test", "qemu", "fixtures", "connect-child.js");
    const payload = JSON.stringify({ spec, handle, argv: ["sh", "-c", "sleep 3; echo child-$$"] });
    const runs = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<{ stdout: string; exit_code: number; started: number; ended: number }>((resolve, reject) => {
            execFile(process.execPath, [child, payload], { timeout: 120_000 }, (error, stdout, stderr) =>
              error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
            );
          }),
      ),
    );
    for (const r of runs) {
      expect(r.exit_code).toBe(0);
      expect(r.stdout).toMatch(/^child-\d+\n$/);
    }
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(5);
    // All five were connected at once: every one started before any ended.
    expect(Math.max(...runs.map((r) => r.started))).toBeLessThan(Math.min(...runs.map((r) => r.ended)));
  });

  it("fails an exec clearly when QEMU is killed under it, and reports not running", async () => {
    const client = await AgentClient.connect(await backend.connect(spec, handle!), { helloTimeoutMs: 30_000 });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const exec = client.exec({ argv: ["sleep", "600"] }, { maxBufferedBytes: 1024, onStarted: () => started() });
    await running;
    process.kill(handle!.pid, "SIGKILL");
    const error = await rejection(exec);
    expect(error.code).toBe("guest_failure");
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(backend.isRunning(handle!)).toBe(false);
    expect((await rejection(backend.connect(spec, handle!))).code).toBe("failed_precondition");
  });

  it("restarts over stale sockets and locks, with egress networking, and survives a full disk", async () => {
    const layout = qemuLayout(spec.dir);
    expect(existsSync(layout.agentSockets[0]!)).toBe(true); // left by the killed QEMU
    writeFileSync(layout.agentLocks[1]!, JSON.stringify({ pid: 999_999_999, start_time: 1, host: hostname(), acquired_at: "x" }));
    spec = { ...spec, network: "egress" };
    handle = await backend.start(spec, { bootTimeoutMs: BOOT_TIMEOUT_MS });

    const route = await guestExec(backend, spec, handle, ["cat", "/proc/net/route", "/etc/resolv.conf"]);
    expect(route.stdout).toMatch(/eth0\s+00000000\s+0202000A/); // default via 10.0.2.2
    expect(route.stdout).toContain("nameserver 10.0.2.3");

    const fill = await guestExec(backend, spec, handle, ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M 2>&1; sync; df -P / | tail -1"], 180_000);
    expect(fill.exit_code).toBe(0);
    expect(fill.stdout).toContain("No space left on device");
    expect(fill.stdout).toMatch(/100%/);
    const alive = await guestExec(backend, spec, handle, ["echo", "still-answering"]);
    expect(alive.stdout).toBe("still-answering\n");

    // Orderly stop: the agent powers the guest off, stop() sees QEMU exit.
    const client = await AgentClient.connect(await backend.connect(spec, handle), { helloTimeoutMs: 30_000 });
    if (client.has("shutdown")) {
      await new Promise<void>((resolve) => client.open("shutdown", { action: "poweroff" }, { onFinal: () => resolve(), onFail: () => resolve() }));
    }
    await client.close();
    await backend.stop(spec, handle, 30_000);
    expect(backend.isRunning(handle)).toBe(false);
    await backend.stop(spec, handle, 30_000); // idempotent
  });

  it.skipIf(!busybox || !hasMkfs)("a guest whose agent never answers: timeout error with the console tail, QEMU gone (needs busybox and mkfs.ext4)", async () => {
    const tree = join(root, "silent-root");
    for (const d of ["bin", "sbin", "dev", "proc", "sys", "tmp"]) mkdirSync(join(tree, d), { recursive: true });
    copyFileSync(busybox!, join(tree, "bin", "busybox"));
    chmodSync(join(tree, "bin", "busybox"), 0o755);
    writeFileSync(join(tree, "sbin", "pyro-init"), "#!/bin/busybox sh\necho pyro-test-silent-init-is-up\nexec /bin/busybox sleep 1000000\n", { mode: 0o755 });
    const image = join(root, "silent.ext4");
    const mkfs = spawnSync("mkfs.ext4", ["-q", "-F", "-b", "4096", "-E", "root_owner=0:0", "-d", tree, image, "16M"]);
    expect(mkfs.status, mkfs.stderr.toString()).toBe(0);
    const silent = machineSpec(join(root, "silent"), { ...env, name: "silent", rootImage: image }, { rootDisk: "raw" });
    const error = await rejection(backend.start(silent, { bootTimeoutMs: 30_000 }));
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("pyro-test-silent-init-is-up");
    expect(error.message).toContain("last console lines");
    const layout = qemuLayout(silent.dir);
    expect(existsSync(layout.rawDisk)).toBe(true); // raw copy made by rootDisk: "raw"
    const pid = existsSync(layout.pidFile) ? Number(readFileSync(layout.pidFile, "utf8")) : undefined;
    if (pid) expect(isProcessAlive(pid)).toBe(false);
    expect(spawnSync("ps", ["-eo", "args"]).stdout.toString()).not.toContain(layout.qmpSocket);
    await backend.cleanup(silent);
    expect(existsSync(layout.rawDisk)).toBe(false);
  }, 120_000);
});
