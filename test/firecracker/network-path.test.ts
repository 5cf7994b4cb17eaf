import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirecrackerBackend } from "../../src/runtime/firecracker/backend.js";
import type { MachineHandle, MachineSpec } from "../../src/runtime/backend.js";
import { createNetLab, LAB, NETLAB_AVAILABLE, parseProbes, probeScript, type NetLab } from "../helpers/netlab.js";
import { FAKE_FIRECRACKER, FAKE_GUEST_UNAVAILABLE, fakeGuestEnv, fakeMachine, tempDir } from "./helpers.js";

function sh(argv: string[]): string {
  const run = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${argv.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

// The routed path of a Firecracker guest, end to end, in a lab (test/helpers/netlab.ts):
// the real backend starts the fake Firecracker in its machine namespace with
// slirp4netns's sockets in the lab's outer namespace (PATH shims put `unshare`
// and `slirp4netns` there), so no packet leaves namespaces this test made.
// No kernel runs in the fake guest, so the test stands one in: it swaps the
// TAP (after Firecracker's PUT found it) for a veth of the same name whose peer
// is eth0 of a "guest" namespace, configured as pyro.net= says. What is
// proven: forwarding, the egress filter on the forward hook, the namespace
// closed to the guest, and NAT to the stack. What is not: Firecracker moving
// frames between the TAP and virtio-net.
describe.skipIf(!NETLAB_AVAILABLE || FAKE_GUEST_UNAVAILABLE !== undefined)("a routed Firecracker guest's path through its machine namespace (needs root, ip, nft, slirp4netns, busybox, bwrap)", () => {
  let lab: NetLab;
  let tmp: ReturnType<typeof tempDir>;
  let handle: MachineHandle | undefined;
  let backend: FirecrackerBackend;
  let spec: MachineSpec;
  let guestServer: ChildProcess | undefined;
  let guestNs: string;
  const savedPath = process.env.PATH;
  const tap = "pyrotapvm1";

  beforeAll(async () => {
    lab = await createNetLab();
    tmp = tempDir();
    guestNs = `${lab.outer}-g`;
    const shims = join(tmp.dir, "shims");
    sh(["mkdir", "-p", shims]);
    for (const tool of ["unshare", "slirp4netns"]) {
      const real = sh(["sh", "-c", `command -v ${tool}`]).trim();
      writeFileSync(join(shims, tool), `#!/bin/sh\nexec nsenter --net=/run/netns/${lab.outer} -- ${real} "$@"\n`);
      chmodSync(join(shims, tool), 0o755);
    }
    // startSlirp spawns with this process's environment.
    process.env.PATH = `${shims}:${savedPath}`;
    // egress+published-ports: everything of egress, plus published ports.
    spec = { ...fakeMachine(tmp.dir), network: "egress+published-ports" };
    backend = new FirecrackerBackend({
      jailed: false,
      env: { PATH: process.env.PATH, PYRO_FIRECRACKER_BIN: FAKE_FIRECRACKER, ...fakeGuestEnv(tmp.dir) },
      tapDevice: () => tap,
    });
    handle = await backend.start(spec, { bootTimeoutMs: 15_000 });
    // The stand-in guest: eth0 in a namespace of its own, on a veth that takes the TAP's name and place.
    const inMachine = ["nsenter", "-t", String(handle.pid), "-n"];
    sh(["ip", "netns", "add", guestNs]);
    sh([...inMachine, "ip", "link", "del", tap]);
    sh([...inMachine, "ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", guestNs]);
    sh([...inMachine, "ip", "addr", "add", "10.0.3.1/24", "dev", tap]);
    sh([...inMachine, "ip", "link", "set", tap, "up"]);
    for (const args of [["addr", "add", "10.0.3.2/24", "dev", "eth0"], ["link", "set", "eth0", "up"], ["link", "set", "lo", "up"], ["route", "add", "default", "via", "10.0.3.1"]]) {
      sh(["ip", "-n", guestNs, ...args]);
    }
  }, 60_000);
  afterAll(async () => {
    process.env.PATH = savedPath;
    guestServer?.kill("SIGKILL");
    if (handle) {
      try {
        process.kill(-handle.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await new FirecrackerBackend({ jailed: false }).kill(handle);
    }
    spawnSync("ip", ["netns", "del", guestNs]);
    lab?.cleanup();
    tmp?.remove();
  });

  it("the guest reaches the wan through NAT and the stack, and is refused at once by the stack's host alias, private, metadata and its own namespace", () => {
    const probes = parseProbes(
      sh([
        "ip", "netns", "exec", guestNs, "bash", "-c",
        probeScript([
          ["wan", LAB.wan, LAB.port],
          ["host-alias", "10.0.2.2", LAB.hostLoopbackPort],
          ["private", LAB.privateAddress, LAB.port],
          ["metadata", LAB.metadata, 80],
          ["machine-namespace", "10.0.3.1", 22],
        ]),
      ]),
    );
    expect(probes.wan?.answer).toBe("wan");
    for (const name of ["host-alias", "private", "metadata", "machine-namespace"]) {
      expect(probes[name]?.answer, `${name}: ${JSON.stringify(probes[name])}`).toBe("refused");
      expect(probes[name]!.ms, `${name} took ${probes[name]!.ms} ms`).toBeLessThan(2000);
    }
    // (Without the masquerade the stack never answers the guest's 10.0.3.2, and the wan probe fails;
    // without the forward filter the private and metadata servers answer: both checked by mutation.)
  });

  it("a published port answers on the lab host's 127.0.0.1 from a server in the guest, and not on the host's other address", async () => {
    guestServer = spawn("ip", ["netns", "exec", guestNs, process.execPath, "-e", 'require("node:net").createServer((s) => s.end("guest-service\\n")).listen(8000, "10.0.3.2")'], { stdio: "ignore" });
    await backend.publishPorts(spec, handle!, [{ host_port: 18090, guest_port: 8000 }]);
    const probe = (host: string): string =>
      parseProbes(sh([...lab.inOuter, "bash", "-c", probeScript([["p", host, 18090]])])).p?.answer ?? "";
    let answer = "";
    for (let i = 0; i < 50 && answer !== "guest-service"; i += 1) {
      answer = probe("127.0.0.1");
      if (answer !== "guest-service") await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer).toBe("guest-service");
    expect(probe(LAB.hostAddress)).toBe("refused");
  });
});
