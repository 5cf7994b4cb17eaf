import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MachineHandle } from "../../src/runtime/backend.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { jailerArgs } from "../../src/runtime/firecracker/jailer.js";
import { jailerId, vmLayout } from "../../src/runtime/firecracker/layout.js";
import type { RecordedCall } from "./fixtures/fake-api-server.mjs";
import { AgentClient } from "../../src/agent-client/index.js";
import { FAKE_FIRECRACKER, FAKE_GUEST_UNAVAILABLE, FAKE_JAILER, fakeGuestEnv, fakeMachine, tempDir } from "./helpers.js";

describe("jailer command line and chroot layout", () => {
  it("builds the documented jailer arguments", () => {
    expect(
      jailerArgs({
        id: "ws_01/x",
        firecrackerBin: "/opt/fc/firecracker",
        uid: 123,
        gid: 456,
        chrootBase: "/state/vms/ws/jail",
        firecrackerArgs: ["--api-sock", "/api.sock"],
      }),
    ).toEqual([
      "--id", "ws-01-x",
      "--exec-file", "/opt/fc/firecracker",
      "--uid", "123",
      "--gid", "456",
      "--chroot-base-dir", "/state/vms/ws/jail",
      "--cgroup-version", "2",
      "--", "--api-sock", "/api.sock",
    ]);
  });

  it("sanitises ids to the jailer's alphabet and length", () => {
    expect(jailerId("a".repeat(80))).toHaveLength(64);
    expect(jailerId("my.vm_1")).toBe("my-vm-1");
  });

  it("puts the chroot at <jail base>/<exec name>/<id>/root with chroot-relative VMM paths", () => {
    const layout = vmLayout("/s/vm", "vm1", "firecracker");
    expect(layout.chrootRoot).toBe("/s/vm/jail/firecracker/vm1/root");
    expect(layout.apiSocket).toBe("/s/vm/jail/firecracker/vm1/root/api.sock");
    expect(layout.vmm).toEqual({ apiSocket: "/api.sock", vsockSocket: "/v.sock", rootDisk: "/rootfs.ext4", log: "/firecracker.log", metrics: "/metrics.json" });
    expect(layout.rootDisk).toBe("/s/vm/rootfs.ext4");
  });
});

describe("FirecrackerBackend as root, through a fake jailer", () => {
  let tmp: ReturnType<typeof tempDir>;
  const started: MachineHandle[] = [];
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    const b = new FirecrackerBackend({ jailed: false });
    for (const h of started.splice(0)) await b.kill(h);
    tmp.remove();
  });

  // The fake guest (the real agent booted from the boot_args) needs busybox and bwrap.
  it.skipIf(FAKE_GUEST_UNAVAILABLE !== undefined)("runs firecracker under the jailer with a prepared chroot", async () => {
    const spec = fakeMachine(tmp.dir, "vm1");
    const record = join(tmp.dir, "calls.jsonl");
    const jailRecord = join(tmp.dir, "jailer.jsonl");
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const fc = new FirecrackerBackend({
      jailed: true,
      jailerUid: uid,
      jailerGid: gid,
      env: {
        PATH: process.env.PATH,
        PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER,
        PYRO_JAILER_BIN: FAKE_JAILER,
        FAKE_FC_RECORD: record,
        FAKE_JAILER_RECORD: jailRecord,
        ...fakeGuestEnv(tmp.dir),
      },
    });
    const handle = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(handle);

    const base = join(spec.dir, "jail");
    const root = join(base, "fake-firecracker.mjs", "vm1", "root");
    const argv = JSON.parse(readFileSync(jailRecord, "utf8").trim()) as string[];
    expect(argv).toEqual([
      "--id", "vm1",
      "--exec-file", FAKE_FIRECRACKER,
      "--uid", String(uid),
      "--gid", String(gid),
      "--chroot-base-dir", base,
      "--cgroup-version", "2",
      "--", "--api-sock", "/api.sock",
    ]);
    expect(handle).toMatchObject({ jailed: true, chroot: root, api_socket: join(root, "api.sock"), vsock_socket: join(root, "v.sock") });

    // Kernel hard-linked (world-readable, same filesystem); root disk linked to the persistent per-VM disk.
    expect(statSync(join(root, "vmlinux")).ino).toBe(statSync(spec.environment.kernel!.vmlinux!).ino);
    expect(existsSync(join(root, "initrd.img"))).toBe(true);
    expect(statSync(join(root, "rootfs.ext4")).ino).toBe(statSync(join(spec.dir, "rootfs.ext4")).ino);

    const calls = readFileSync(record, "utf8").trim().split("\n").map((l) => JSON.parse(l) as RecordedCall);
    expect(calls.every((c) => c.status < 300)).toBe(true);
    const body = (path: string): unknown => calls.find((c) => c.path === path && c.method === "PUT")?.body;
    expect(body("/boot-source")).toMatchObject({ kernel_image_path: "/vmlinux", initrd_path: "/initrd.img" });
    expect(body("/drives/rootfs")).toMatchObject({ path_on_host: "/rootfs.ext4" });
    expect(body("/vsock")).toEqual({ guest_cid: 3, uds_path: "/v.sock" });
    expect(body("/logger")).toMatchObject({ log_path: "/firecracker.log" });
    expect(readFileSync(join(root, "firecracker.log"), "utf8")).toContain("logger configured");

    // The agent inside the chroot answers over the jailed vsock socket, activated with the machine's hostname.
    const client = await AgentClient.connect(await fc.connect(spec, handle), { helloTimeoutMs: 5000, clientName: "pyro-mcp/test" });
    expect(client.hello.hostname).toBe(spec.hostname);
    await client.close();

    // A second start rebuilds the chroot (the stale one holds sockets and device nodes).
    await fc.kill(handle);
    const again = await fc.start(spec, { bootTimeoutMs: 10_000 });
    started.push(again);
    expect(fc.isRunning(again)).toBe(true);
    await fc.kill(again);
    await fc.cleanup(spec);
    expect(existsSync(base)).toBe(false);
  });
});
