import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import { bootVector } from "../guest-boot/vectors.js";
import { isProcessAlive } from "../../src/util/process.js";
import { FAKE_FIRECRACKER, FAKE_GUEST_UNAVAILABLE, FAKE_JAILER, fakeGuestEnv, fakeMachine, killStarted, readCalls, tempDir } from "./helpers.js";

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
/** Why the networked machine cannot be built here: its namespace needs root, ip, nft, slirp4netns and /dev/net/tun. */
const NET_UNAVAILABLE =
  FAKE_GUEST_UNAVAILABLE ??
  (process.getuid?.() !== 0 ? "not root" : ["ip", "nft", "slirp4netns", "nsenter"].find((t) => !has(t)) ?? (existsSync("/dev/net/tun") ? undefined : "no /dev/net/tun"));

/** Run a command inside the network namespace of `pid`. */
function inNetns(pid: number, argv: string[]): { code: number | null; out: string } {
  const run = spawnSync("nsenter", ["-t", String(pid), "-n", ...argv], { encoding: "utf8" });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

// Issue 13, Firecracker: a networked machine gets a TAP device inside its own
// network namespace, routed and NATed to slirp4netns there behind the same
// egress filter, and eth0's address on the kernel command line. Proven
// against the fake Firecracker (spec-validating API, the real agent as the
// guest's init); no packet is sent (the fake guest has no kernel to send one).
describe.skipIf(NET_UNAVAILABLE !== undefined)(`firecracker guest network in the machine's own namespace (needs ${NET_UNAVAILABLE ?? "root, ip, nft, slirp4netns"})`, () => {
  let tmp: ReturnType<typeof tempDir>;
  let spec: MachineSpec;
  let record: string;
  const started: MachineHandle[] = [];
  const tap = "pyrotapvm1";
  const backend = (): FirecrackerBackend =>
    new FirecrackerBackend({
      jailed: false,
      env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER, FAKE_FC_RECORD: record, ...fakeGuestEnv(tmp.dir) },
      tapDevice: () => tap,
    });

  beforeEach(() => {
    tmp = tempDir();
    spec = { ...fakeMachine(tmp.dir), network: "egress" };
    record = join(tmp.dir, "calls.jsonl");
  });
  afterEach(async () => {
    await killStarted(started);
    tmp.remove();
  });

  it("PUTs a spec-valid network interface on a TAP that exists in the machine's namespace and not the host's, and puts eth0's address on the command line", async () => {
    const fc = backend();
    expect(fc.capabilities.guest_network).toBe(true);
    const handle = await fc.start(spec, { bootTimeoutMs: 15_000 });
    started.push(handle);

    const calls = readCalls(record);
    // The fake API answers 204 only to bodies valid against the official v1.16.1 spec.
    const net = calls.find((c) => c.method === "PUT" && c.path === "/network-interfaces/eth0");
    expect(net?.status).toBe(204);
    expect(net?.body).toMatchObject({ iface_id: "eth0", host_dev_name: tap });
    expect((net?.body as { guest_mac: string }).guest_mac).toMatch(/^06(:[0-9a-f]{2}){5}$/);
    // Before InstanceStart, as Firecracker requires.
    const order = calls.filter((c) => c.method === "PUT").map((c) => c.path);
    expect(order.indexOf("/network-interfaces/eth0")).toBeLessThan(order.indexOf("/actions"));
    const boot = calls.find((c) => c.path === "/boot-source")?.body as { boot_args: string };
    expect(boot.boot_args).toBe(`${bootVector("firecracker").cmdline.replace(" pyro.transport", " pyro.net=10.0.3.2/24,10.0.3.1,10.0.2.3 pyro.transport")}`);
    expect(handle.guest_ip).toBe("10.0.3.2");

    // The VMM runs in a namespace of its own, where the TAP is; the host's has none.
    expect(readlinkSync(`/proc/${handle.pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    const link = inNetns(handle.pid, ["ip", "-d", "addr", "show", "dev", tap]);
    expect(link.code, link.out).toBe(0);
    expect(link.out).toMatch(/\btun type tap\b/);
    expect(link.out).toContain("inet 10.0.3.1/24");
    expect(spawnSync("ip", ["link", "show", "dev", tap]).status).not.toBe(0);
    // The user-mode stack is attached to that namespace.
    expect(inNetns(handle.pid, ["ip", "route", "show", "default"]).out).toContain("via 10.0.2.2 dev tap0");

    // The agent wrote the DNS of pyro.net= (read from its /proc/cmdline) into the guest's resolv.conf.
    expect(readFileSync(join(spec.dir, "fake-guest-vsock.resolv.conf"), "utf8")).toBe("nameserver 10.0.2.3\n");
  });

  it("the namespace forwards for the guest only through the egress filter, NATed to the stack; the host's forwarding is untouched", async () => {
    const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const handle = await backend().start(spec, { bootTimeoutMs: 15_000 });
    started.push(handle);
    expect(inNetns(handle.pid, ["cat", "/proc/sys/net/ipv4/ip_forward"]).out.trim()).toBe("1");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostForward);

    const ruleset = inNetns(handle.pid, ["nft", "list", "ruleset"]);
    expect(ruleset.code, ruleset.out).toBe(0);
    const table = (name: string): string => {
      const start = ruleset.out.indexOf(`table ${name} {`);
      expect(start, `table ${name} in\n${ruleset.out}`).toBeGreaterThanOrEqual(0);
      return ruleset.out.slice(start, ruleset.out.indexOf("\n}", start));
    };
    // The namespace's own egress filter, and the same filter on the guest's routed path.
    expect(table("inet pyro_egress")).toContain("hook output");
    const forward = table("inet pyro_guest_forward");
    expect(forward).toContain("hook forward");
    for (const range of ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"]) expect(forward).toContain(range);
    expect(forward).toContain("reject with tcp reset");
    expect(forward).toMatch(/ip daddr 10\.0\.2\.3 meta l4proto \{ tcp, udp \} th dport 53 accept/);
    // Nothing opened from the guest to the namespace itself.
    expect(table("inet pyro_guest_input")).toMatch(new RegExp(`iifname "${tap}" drop`));
    // NAT to the stack's device.
    expect(table("ip pyro_guest_nat")).toMatch(/oifname "tap0" ip saddr 10\.0\.3\.2 masquerade/);
    expect(spawnSync("nft", ["list", "table", "ip", "pyro_guest_nat"]).status).not.toBe(0);
  });

  it("jailed: the jailer runs inside the machine namespace, unchanged, and the TAP belongs to the uid and gid it drops to", async () => {
    const jailRecord = join(tmp.dir, "jailer.jsonl");
    const fc = new FirecrackerBackend({
      jailed: true,
      jailerUid: 4242,
      jailerGid: 4343,
      env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER, PYRO_JAILER_BIN: FAKE_JAILER, FAKE_FC_RECORD: record, FAKE_JAILER_RECORD: jailRecord, ...fakeGuestEnv(tmp.dir) },
      tapDevice: () => tap,
    });
    const handle = await fc.start(spec, { bootTimeoutMs: 15_000 });
    started.push(handle);
    const argv = JSON.parse(readFileSync(jailRecord, "utf8").trim()) as string[];
    expect(argv.slice(0, 2)).toEqual(["--id", "vm1"]);
    expect(argv).not.toContain("--netns");
    expect(readlinkSync(`/proc/${handle.pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    const link = inNetns(handle.pid, ["ip", "-d", "link", "show", "dev", tap]);
    expect(link.out).toMatch(/tun type tap .*user 4242 group 4343/);
    expect(readCalls(record).find((c) => c.path === "/network-interfaces/eth0")?.status).toBe(204);
  });

  it("kill -9 of the VMM takes the namespace, its TAP and the stack with it", async () => {
    const fc = backend();
    const handle = await fc.start(spec, { bootTimeoutMs: 15_000 });
    started.push(handle);
    const slirp = handle.slirpPid as number;
    expect(isProcessAlive(slirp)).toBe(true);
    expect(readFileSync(`/proc/${slirp}/cmdline`, "utf8")).toContain(spec.dir);
    try {
      process.kill(-handle.pid, "SIGKILL");
    } catch {
      process.kill(handle.pid, "SIGKILL");
    }
    for (let i = 0; i < 100 && isProcessAlive(slirp); i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(isProcessAlive(slirp)).toBe(false);
    expect(spawnSync("ip", ["link", "show", "dev", tap]).status).not.toBe(0);
  });
});

// The fake refuses a TAP its process cannot see, as a jailed Firecracker would
// (before this design the backend PUT a TAP that nothing had created).
describe("the fake firecracker opens a TAP, never creates one", () => {
  it("a network interface whose TAP does not exist in the VMM's namespace is refused with Firecracker's fault", async () => {
    const tmp = tempDir();
    const { startFakeFirecracker } = await import("./fixtures/fake-api-server.mjs");
    const { FirecrackerApiClient } = await import("../../src/runtime/firecracker/api-client.js");
    const fake = await startFakeFirecracker({ socketPath: join(tmp.dir, "api.sock"), tapMustExist: true });
    try {
      const client = new FirecrackerApiClient(join(tmp.dir, "api.sock"));
      const error = await client.putNetworkInterface({ iface_id: "eth0", host_dev_name: "pyronotthere0", guest_mac: "06:00:00:00:00:01" }).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain("Open tap device failed");
    } finally {
      await fake.close();
      tmp.remove();
    }
  });
});
