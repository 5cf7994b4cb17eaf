import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeNewcCpio } from "../../src/environments/kernel/cpio.js";
import { loadWaves, resolveLoadOrder, stripModuleSignature } from "../../src/environments/kernel/modinfo.js";
import { buildQemuArgs, kernelCmdline, qemuLayout, type QemuArgsInput } from "../../src/runtime/qemu/index.js";
import { snapshotKey } from "../../src/runtime/qemu/snapshot.js";
import { logTail } from "../../src/util/log-tail.js";
import { openAgentPort } from "../../src/runtime/qemu/ports.js";

const tmp = mkdtempSync(join(tmpdir(), "pyro-qemu-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function input(extra: Partial<QemuArgsInput> = {}): QemuArgsInput {
  return {
    layout: qemuLayout("/run/vm"),
    machine: "microvm",
    accel: "tcg",
    vcpus: 2,
    memMib: 1024,
    kernel: "/k/vmlinuz",
    initramfs: "/k/initramfs.img",
    rootDisk: "/run/vm/root.qcow2",
    rootFormat: "qcow2",
    network: "off",
    publishedPorts: [],
    tscKhz: 2_300_000,
    ...extra,
  };
}

describe("QEMU command line", () => {
  it("microvm under TCG: mmio devices, eight named agent ports, no NIC when network is off", () => {
    const args = buildQemuArgs(input());
    const joined = args.join(" ");
    expect(joined).toContain("-machine microvm,acpi=on,pit=on,pic=on,rtc=on");
    expect(joined).toContain("-accel tcg,thread=multi -cpu max -smp 2 -m 1024M");
    expect(joined).toContain("virtio-blk-device,drive=root");
    expect(args.filter((a) => a.startsWith("virtserialport,"))).toHaveLength(8);
    expect(joined).toContain("socket,id=agent7,path=/run/vm/agent-7.sock,server=on,wait=off");
    expect(joined).toContain("name=pyro.agent.7");
    expect(joined).toContain("-qmp unix:/run/vm/qmp.sock,server=on,wait=off");
    expect(joined).toContain("-serial file:/run/vm/console.log");
    expect(joined).not.toContain("-netdev");
    expect(joined).not.toContain("virtio-net");
    expect(kernelCmdline(input())).toMatch(/tsc_early_khz=2300000/);
    expect(kernelCmdline(input())).not.toContain("pyro.net=");
  });

  it("egress: user networking without forwards; published ports forwarded inside the machine's own namespace", () => {
    const egress = buildQemuArgs(input({ network: "egress", publishedPorts: [{ host_port: 8080, guest_port: 80 }] })).join(" ");
    expect(egress).toContain("-netdev user,id=net0 -device virtio-net-device,netdev=net0");
    expect(egress).not.toContain("hostfwd");
    const published = buildQemuArgs(
      input({ network: "egress+published-ports", publishedPorts: [{ host_port: 8080, guest_port: 80 }, { host_port: 2222, guest_port: 22 }] }),
    ).join(" ");
    // QEMU runs in the machine's own network namespace; slirp4netns binds the host's 127.0.0.1 side (services.test.ts).
    expect(published).toContain("user,id=net0,hostfwd=tcp::8080-:80,hostfwd=tcp::2222-:22");
    expect(kernelCmdline(input({ network: "egress" }))).toContain("pyro.net=10.0.2.15/24,10.0.2.2,10.0.2.3");
    expect(kernelCmdline(input())).toMatch(/pyro\.skip_modules=\S*virtio_net/);
    expect(kernelCmdline(input({ network: "egress" }))).not.toMatch(/pyro\.skip_modules=\S*virtio_net/);
    expect(kernelCmdline(input())).toMatch(/pyro\.skip_modules=\S*virtio_pci/);
    expect(kernelCmdline(input({ machine: "q35" }))).toMatch(/pyro\.skip_modules=\S*virtio_mmio/);
  });

  it("q35 under KVM: pci devices and the host CPU", () => {
    const joined = buildQemuArgs(input({ machine: "q35", accel: "kvm", rootFormat: "raw", rootDisk: "/a,b/root.ext4" })).join(" ");
    expect(joined).toContain("-machine q35 -accel kvm -cpu host");
    expect(joined).toContain("virtio-blk-pci,drive=root");
    expect(joined).toContain("virtio-serial-pci");
    expect(joined).toContain("file=/a,,b/root.ext4,format=raw");
    expect(kernelCmdline(input({ machine: "q35" }))).not.toContain("pci=off");
  });
});

describe("initramfs pieces", () => {
  it.skipIf(spawnSync("sh", ["-c", "command -v cpio"]).status !== 0)("writes a newc archive that cpio(1) lists and extracts (needs cpio)", () => {
    const archive = writeNewcCpio([
      { kind: "dir", path: "bin" },
      { kind: "file", path: "bin/hello", data: Buffer.from("hi\n"), mode: 0o755 },
      { kind: "symlink", path: "bin/alias", target: "hello" },
    ]);
    const file = join(tmp, "a.cpio");
    writeFileSync(file, archive);
    const out = join(tmp, "x");
    const r = spawnSync("sh", ["-c", `mkdir -p ${out} && cd ${out} && cpio -id --quiet < ${file}`]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(out, "bin/hello"), "utf8")).toBe("hi\n");
    expect(statSync(join(out, "bin/hello")).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(out, "bin/alias"), "utf8")).toBe("hi\n");
  });

  it("orders modules dependencies first and skips built-ins", () => {
    const mod = (name: string, depends: string[]) => [name, { name, depends, path: `/m/${name}.ko` }] as const;
    const available = new Map([mod("virtio", []), mod("virtio_ring", []), mod("virtio_blk", ["virtio", "virtio_ring"]), mod("vsock", []), mod("vmw_vsock_virtio_transport", ["vsock", "virtio"])]);
    const order = resolveLoadOrder(["virtio_blk", "vmw_vsock_virtio_transport", "not_in_kernel"], available, new Set(["virtio_ring"]));
    expect(order.map((m) => m.name)).toEqual(["virtio", "virtio_blk", "vsock", "vmw_vsock_virtio_transport"]);
    expect(() => resolveLoadOrder(["a"], new Map([mod("a", ["missing"])]), new Set())).toThrow(/missing/);
  });

  it("groups the load order into waves that depend only on earlier waves", () => {
    const m = (name: string, depends: string[]) => ({ name, depends });
    const waves = loadWaves([m("virtio_ring", []), m("virtio", ["virtio_ring"]), m("virtio_mmio", ["virtio", "virtio_ring"]), m("virtio_blk", ["virtio", "virtio_ring"]), m("vsock", []), m("vmw_vsock_virtio_transport", ["vsock", "virtio", "builtin_one"])]);
    expect(waves).toEqual([["virtio_ring", "vsock"], ["virtio"], ["virtio_mmio", "virtio_blk", "vmw_vsock_virtio_transport"]]);
  });

  it("strips an appended module signature and leaves unsigned modules alone", () => {
    const body = Buffer.from("\x7fELF module body");
    const sig = Buffer.alloc(300, 7);
    const info = Buffer.alloc(12);
    info[2] = 2; // PKEY_ID_PKCS7
    info.writeUInt32BE(sig.length, 8);
    const signed = Buffer.concat([body, sig, info, Buffer.from("~Module signature appended~\n")]);
    expect(stripModuleSignature(signed).equals(body)).toBe(true);
    expect(stripModuleSignature(body)).toBe(body);
    info.writeUInt32BE(10_000, 8);
    expect(() => stripModuleSignature(Buffer.concat([body, sig, info, Buffer.from("~Module signature appended~\n")]))).toThrow(/corrupt/);
  });
});

describe("agent port locks", () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function listen(path: string): Promise<void> {
    const server = createServer((socket) => socket.on("data", () => undefined));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }

  it("gives concurrent callers distinct ports, frees a port on close, reclaims a dead holder's lock", async () => {
    const layout = qemuLayout(join(tmp, "vm"));
    rmSync(layout.dir, { recursive: true, force: true });
    spawnSync("mkdir", ["-p", layout.dir]);
    await Promise.all(layout.agentSockets.map(listen));
    // A lock left by a process that no longer exists.
    const dead = spawnSync("true").pid ?? 999_999;
    writeFileSync(layout.agentLocks[0]!, JSON.stringify({ pid: dead, start_time: 1, host: (await import("node:os")).hostname(), acquired_at: "x" }));
    const opened = await Promise.all(Array.from({ length: 8 }, () => openAgentPort(layout.agentSockets, layout.agentLocks)));
    expect(new Set(opened.map((o) => o.port)).size).toBe(8);
    expect(statSync(layout.agentLocks[3]!).mode & 0o777).toBe(0o600);
    await expect(openAgentPort(layout.agentSockets, layout.agentLocks, { timeoutMs: 200 })).rejects.toMatchObject({ code: "busy" });
    const five = opened.find((o) => o.port === 5)!;
    five.socket.destroy();
    await new Promise((resolve) => five.socket.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(layout.agentLocks[5]!)).toBe(false);
    const again = await openAgentPort(layout.agentSockets, layout.agentLocks, { timeoutMs: 2000 });
    expect(again.port).toBe(5);
    for (const o of [...opened, again]) o.socket.destroy();
  });
});

describe("console tail", () => {
  it("keeps the last lines, bounded, without control characters", async () => {
    const file = join(tmp, "console.log");
    writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${i}\x1b[0m\r`).join("\n"));
    const tail = await logTail(file, { lines: 40 });
    const lines = tail.split("\n");
    expect(lines).toHaveLength(40);
    expect(lines[39]).toBe("line 4999[0m");
    expect([...tail].every((c) => c === "\n" || c === "\t" || c.charCodeAt(0) >= 0x20)).toBe(true);
    expect(await logTail(join(tmp, "missing"))).toBe("");
  });
});

describe("boot snapshot command line and key", () => {
  it("resumes through exec:cat with the path as one shell word, and never stores the run state", () => {
    const args = buildQemuArgs(input({ incomingState: "/c a/it's/vmstate" }));
    expect(args.slice(-2)).toEqual(["-incoming", `exec:cat '/c a/it'"'"'s/vmstate'`]);
    const quoted = spawnSync("sh", ["-c", `printf %s ${args.at(-1)!.slice("exec:cat ".length)}`]).stdout.toString();
    expect(quoted).toBe("/c a/it's/vmstate");
    expect(buildQemuArgs(input()).join(" ")).toContain("-global migration.store-global-state=off");
    expect(kernelCmdline(input())).toContain(" ro ");
    expect(kernelCmdline(input())).toContain("pyro.activate");
  });

  it("keys on what the guest sees and on its sources, not on per-machine paths or ports", () => {
    const files = ["qemu", "vmlinuz", "initramfs.img", "root.ext4"].map((name) => {
      const path = join(tmp, `key-${name}`);
      writeFileSync(path, name);
      return path;
    });
    const [qemu, kernel, initramfs, image] = files as [string, string, string, string];
    const shape = { machine: "microvm", accel: "tcg", vcpus: 2, memMib: 512, kernel, initramfs, network: "egress", tscKhz: 2_300_000 } as const;
    const key = (extra: object = {}) => snapshotKey({ ...shape, ...extra }, qemu, image).key;
    expect(key()).toMatch(/^qemu-[0-9a-f]{32}$/);
    expect(key()).toBe(key());
    // Published ports and the egress flavour are host-side: the same guest.
    expect(key({ network: "egress+published-ports" })).toBe(key());
    for (const changed of [{ vcpus: 1 }, { memMib: 1024 }, { network: "off" }, { machine: "q35" }, { extraCmdline: ["x=1"] }]) expect(key(changed)).not.toBe(key());
    const before = key();
    writeFileSync(image, "re-pulled image");
    expect(key()).not.toBe(before);
  });
});
