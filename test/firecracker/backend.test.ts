import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { VM_FILES } from "../../src/runtime/firecracker/constants.js";
import { AgentClient } from "../../src/agent-client/index.js";
import { isProcessAlive } from "../../src/util/process.js";
import { PyroError } from "../../src/util/errors.js";
import { AGENT_BIN, FAKE_FIRECRACKER, FAKE_GUEST_UNAVAILABLE, fakeGuestEnv, fakeMachine, killStarted, readCalls, tempDir } from "./helpers.js";
import { bootVector } from "../guest-boot/vectors.js";

/** Tests that boot the fake guest (the real agent as PID 1 from the boot_args) need busybox and bwrap. */
const itGuest = it.skipIf(FAKE_GUEST_UNAVAILABLE !== undefined);
const MiB = 1024 * 1024;

describe("FirecrackerBackend with a fake firecracker binary", () => {
  let tmp: ReturnType<typeof tempDir>;
  let spec: MachineSpec;
  let record: string;
  const started: MachineHandle[] = [];

  const backend = (extra: NodeJS.ProcessEnv = {}, options: Partial<ConstructorParameters<typeof FirecrackerBackend>[0]> = {}): FirecrackerBackend =>
    new FirecrackerBackend({
      jailed: false,
      env: {
        PATH: process.env.PATH,
        PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER,
        FAKE_FC_RECORD: record,
        ...(FAKE_GUEST_UNAVAILABLE === undefined ? fakeGuestEnv(tmp.dir) : { FAKE_FC_VSOCK_MODE: "echo" }),
        ...extra,
      },
      ...options,
    });

  beforeEach(() => {
    tmp = tempDir();
    spec = fakeMachine(tmp.dir);
    record = join(tmp.dir, "calls.jsonl");
  });
  afterEach(async () => {
    await killStarted(started);
    tmp.remove();
  });

  itGuest("boots with the documented sequence; the agent comes up from the command line the backend wrote and is activated", async () => {
    const fc = backend();
    const phases: string[] = [];
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000, onProgress: (m) => phases.push(m) });
    started.push(handle);
    expect(fc.isRunning(handle)).toBe(true);
    expect(handle.backend).toBe("firecracker");
    expect(handle.pidStartTime).toMatch(/^\d+$/);
    expect(phases.filter((p) => /^phase=(wait-agent|activate|ready)/.test(p))).toEqual(["phase=wait-agent port=10000", "phase=activate", "phase=ready"]);

    const calls = readCalls(record);
    expect(calls.every((c) => c.status < 300), JSON.stringify(calls.filter((c) => c.status >= 300))).toBe(true);
    expect(calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`)).toEqual([
      "PUT /logger",
      "PUT /metrics",
      "PUT /machine-config",
      "PUT /boot-source",
      "PUT /drives/rootfs",
      "PUT /vsock",
      "PUT /actions",
    ]);
    const body = (path: string): unknown => calls.find((c) => c.path === path && c.method === "PUT")?.body;
    expect(body("/logger")).toEqual({ log_path: join(spec.dir, VM_FILES.log), level: "Info", show_level: true, show_log_origin: false });
    expect(body("/metrics")).toEqual({ metrics_path: join(spec.dir, VM_FILES.metrics) });
    expect(body("/machine-config")).toEqual({ vcpu_count: 2, mem_size_mib: 512, smt: false });
    expect(body("/boot-source")).toEqual({
      kernel_image_path: spec.environment.kernel?.vmlinux,
      initrd_path: spec.environment.kernel?.initramfs,
      boot_args: bootVector("firecracker").cmdline,
    });
    expect(body("/drives/rootfs")).toEqual({
      drive_id: "rootfs",
      path_on_host: join(spec.dir, VM_FILES.rootDisk),
      is_root_device: true,
      is_read_only: false,
      cache_type: "Unsafe",
      io_engine: "Sync",
    });
    expect(body("/vsock")).toEqual({ guest_cid: 3, uds_path: join(spec.dir, VM_FILES.vsockSocket) });
    expect(body("/actions")).toEqual({ action_type: "InstanceStart" });

    // Per-VM root disk is a private copy of the environment image.
    const disk = join(spec.dir, VM_FILES.rootDisk);
    expect(readFileSync(disk)).toEqual(readFileSync(spec.environment.rootImage));
    expect(statSync(join(spec.dir, VM_FILES.log)).isFile()).toBe(true);
    const console = readFileSync(join(spec.dir, VM_FILES.console), "utf8");
    expect(console).toContain("fake firecracker vm1");
    // The initramfs's own argument lines chose the agent's flags from the boot_args.
    expect(console).toContain("fake guest: switch_root /sbin/pyro-init --init");

    // The agent is the guest's init, read its transport from /proc/cmdline, and got its hostname from activate.
    const client = await AgentClient.connect(await fc.connect(spec, handle), { helloTimeoutMs: 5000, clientName: "pyro-mcp/test" });
    try {
      expect(client.hello.hostname).toBe("pyro-vm1");
      // PID 1 of the guest is the agent, started with the flags the initramfs took from pyro.init_args=.
      const init = await client.exec({ argv: ["cat", "/proc/1/cmdline"] }, { maxBufferedBytes: MiB });
      expect(init.stdout.split("\0").filter(Boolean)).toEqual([AGENT_BIN, "--init"]);
      const cmdline = await client.exec({ argv: ["cat", "/proc/cmdline"] }, { maxBufferedBytes: MiB });
      expect(cmdline.stdout.trim()).toBe(bootVector("firecracker").cmdline);
      const hostname = await client.exec({ argv: ["hostname"] }, { maxBufferedBytes: MiB });
      expect(hostname.stdout.trim()).toBe("pyro-vm1");
    } finally {
      await client.close();
    }
  });

  itGuest("an agentPort option moves both the command line and the port the backend dials", async () => {
    const fc = backend({}, { agentPort: 5005 });
    const phases: string[] = [];
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000, onProgress: (m) => phases.push(m) });
    started.push(handle);
    expect(phases).toContain("phase=wait-agent port=5005");
    const boot = readCalls(record).find((c) => c.path === "/boot-source")?.body as { boot_args: string };
    expect(boot.boot_args).toBe(bootVector("firecracker-agent-port").cmdline);
  });

  itGuest("a guest whose command line names no vsock transport never answers: start fails, console says why", async () => {
    // What the old boot args did (pyro.agent_vsock_port=, read by nothing): the
    // initramfs started the agent on serial, and vsock stayed silent.
    const fc = backend({ FAKE_FC_BOOT_ARGS_OVERRIDE: "console=ttyS0 root=/dev/vda rw panic=1 reboot=k pci=off pyro.agent_vsock_port=10000" });
    const error = (await fc.start(spec, { bootTimeoutMs: 2500 }).catch((e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("timeout");
    expect(String(error.details?.console)).toContain("switch_root /sbin/pyro-init --serial auto");
  });

  // A networked machine (its TAP in its own namespace): test/firecracker/network.test.ts.

  itGuest("retries the vsock connection until the agent listens", async () => {
    const fc = backend({ FAKE_FC_AGENT_DELAY_MS: "400" });
    const t0 = Date.now();
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(handle);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it("fails with a timeout and kills firecracker when the agent never answers", async () => {
    const fc = backend({ FAKE_FC_VSOCK_MODE: "refuse" });
    const error = (await fc.start(spec, { bootTimeoutMs: 2500 }).catch((e: unknown) => e)) as PyroError;
    expect(error).toBeInstanceOf(PyroError);
    expect(error.code).toBe("timeout");
    expect(String(error.details?.last_error)).toMatch(/nothing in the guest accepted/);
    expect(error.message).toMatch(/did not accept vsock port 10000/);
    expect(String(error.details?.console)).toContain("fake firecracker");
    expect(readCalls(record).some((c) => c.path === "/actions")).toBe(true);
  });

  it("surfaces fault_message from a rejected boot request", async () => {
    const fc = backend({ FAKE_FC_FAIL: "PUT /boot-source" });
    const error = (await fc.start(spec, { bootTimeoutMs: 5000 }).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("guest_failure");
    expect(error.message).toContain("injected failure for PUT /boot-source");
    expect(error.details?.fault_message).toBe("injected failure for PUT /boot-source");
  });

  itGuest("stop(): SendCtrlAltDel ends a guest that did not power off by itself", async () => {
    const fc = backend();
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(handle);
    const t0 = Date.now();
    await fc.stop(spec, handle, 2000);
    const took = Date.now() - t0;
    expect(fc.isRunning(handle)).toBe(false);
    // It waited half the grace for a voluntary exit, then Ctrl+Alt+Del ended it before the kill deadline.
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(1900);
    const actions = readCalls(record).filter((c) => c.path === "/actions").map((c) => (c.body as { action_type: string }).action_type);
    expect(actions).toEqual(["InstanceStart", "SendCtrlAltDel"]);
    await fc.stop(spec, handle, 2000); // idempotent
  });

  itGuest("stop(): kills firecracker after the deadline when Ctrl+Alt+Del is ignored", async () => {
    const fc = backend({ FAKE_FC_IGNORE_CTRL_ALT_DEL: "1" });
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(handle);
    const t0 = Date.now();
    await fc.stop(spec, handle, 600);
    const took = Date.now() - t0;
    expect(fc.isRunning(handle)).toBe(false);
    expect(took).toBeGreaterThanOrEqual(550);
    expect(readCalls(record).some((c) => (c.body as { action_type?: string } | undefined)?.action_type === "SendCtrlAltDel")).toBe(true);
  });

  itGuest("restarts over stale API and vsock socket files and keeps the root disk", async () => {
    const fc = backend();
    const first = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(first);
    const disk = join(spec.dir, VM_FILES.rootDisk);
    writeFileSync(disk, "guest wrote this");
    await fc.kill(first);
    // Firecracker leaves its sockets behind when killed; the fake refuses to start over them.
    expect(existsSync(join(spec.dir, VM_FILES.apiSocket))).toBe(true);
    expect(existsSync(join(spec.dir, VM_FILES.vsockSocket))).toBe(true);

    const second = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(second);
    expect(second.pid).not.toBe(first.pid);
    expect(fc.isRunning(second)).toBe(true);
    expect(readFileSync(disk, "utf8")).toBe("guest wrote this");

    await fc.kill(second);
    await fc.cleanup(spec);
    expect(existsSync(disk)).toBe(false);
    expect(existsSync(join(spec.dir, VM_FILES.apiSocket))).toBe(false);
  });

  itGuest("isRunning() rejects a reused pid (start time mismatch)", async () => {
    const fc = backend();
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(handle);
    expect(fc.isRunning({ ...handle, pidStartTime: "1" })).toBe(false);
    expect(isProcessAlive(handle.pid)).toBe(true);
  });

  it("connect() on a stopped machine is a failed_precondition", async () => {
    const fc = backend();
    const error = (await fc.connect(spec, { backend: "firecracker", pid: 999_999_999 }).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("failed_precondition");
  });

  it("refuses an environment without a vmlinux, with a hint", async () => {
    const fc = backend();
    const bare = { ...spec, environment: { ...spec.environment, kernel: undefined } };
    const error = (await fc.start(bare, { bootTimeoutMs: 1000 }).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("unavailable");
    expect(error.hint).toMatch(/vmlinux/);
  });

  it("a missing binary is unavailable at start", async () => {
    const fc = backend({ PYRO_FIRECRACKER_BIN: join(tmp.dir, "nope") });
    const error = (await fc.start(spec, { bootTimeoutMs: 1000 }).catch((e: unknown) => e)) as PyroError;
    expect(error.code).toBe("unavailable");
    expect(error.hint).toMatch(/PYRO_FIRECRACKER_BIN/);
    mkdirSync(spec.dir, { recursive: true });
  });
});
