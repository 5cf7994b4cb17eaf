import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { createNetLab, LAB, NETLAB_AVAILABLE, parseProbes, probeScript, type NetLab } from "../helpers/netlab.js";
import { pidsMentioning, stacksUnder } from "../helpers/processes.js";

const TARGETS: Array<[string, string, number]> = [
  ["wan", LAB.wan, LAB.port],
  ["private", LAB.privateAddress, LAB.port],
  ["metadata", LAB.metadata, 80],
  ["host-alias", "10.0.2.2", LAB.hostLoopbackPort],
  ["host-loopback", "127.0.0.1", LAB.hostLoopbackPort],
  ["host-address", LAB.hostAddress, LAB.hostAddressPort],
];


// Issue 13: a networked guest reaches the internet and nothing of the host.
// pyro runs inside a lab namespace; a second one plays the internet
// (198.51.100.10) and holds a private and the metadata address; the lab's
// own 127.0.0.1 and 198.51.100.1 play the host's loopback and address.
describe.each(SUITE_BACKENDS)("network isolation on $name", ({ name: backend, available, needs }) => {
  const ok = available && NETLAB_AVAILABLE;
  const state = tempStateDir();
  let lab: NetLab;
  const env = { ...process.env, PYRO_STATE_DIR: state.dir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR };
  const pyro = (args: string[]) => runCli([...args], env, { timeoutMs: 300_000, wrap: lab.inOuter });

  beforeAll(async () => {
    if (!ok) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    lab = await createNetLab();
  }, 900_000);
  afterAll(() => {
    lab?.cleanup();
    state.cleanup();
  });

  it.skipIf(!ok)(`egress reaches the wan and is refused at once by the host, private and metadata addresses (needs ${needs}, ip, slirp4netns, nft)`, async () => {
    const run = await pyro(["run", "--backend", backend, "--allow-host-compat", "--network", "--json", "debian:12", "--", "bash", "-c", probeScript(TARGETS)]);
    expect(run.code, run.stderr).toBe(0);
    const probes = parseProbes((JSON.parse(run.stdout) as { stdout: string }).stdout);
    expect(probes.wan?.answer).toBe("wan");
    for (const name of ["private", "metadata", "host-alias", "host-loopback", "host-address"]) {
      expect(probes[name]?.answer, `${name}: ${JSON.stringify(probes[name])}`).toBe("refused");
      expect(probes[name]!.ms, `${name} took ${probes[name]!.ms} ms`).toBeLessThan(2000);
    }
    // The one-shot machine and its stack are gone.
    expect(pidsMentioning(state.dir)).toEqual([]);
    expect(stacksUnder(state.dir)).toEqual([]);
  });

  it.skipIf(!ok)("off: no network device but lo, nothing reachable", async () => {
    const run = await pyro(["run", "--backend", backend, "--allow-host-compat", "--json", "debian:12", "--", "bash", "-c", `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ${probeScript(TARGETS.slice(0, 1))}`]);
    expect(run.code, run.stderr).toBe(0);
    const out = (JSON.parse(run.stdout) as { stdout: string }).stdout.trim().split("\n");
    expect(out[0]).toBe("lo");
    expect(parseProbes(out.slice(1).join("\n")).wan?.answer).toBe("refused");
  });

  it.skipIf(!ok)("a published port answers on the host's 127.0.0.1 and not on its other address", async () => {
    const created = await pyro(["workspace", "create", "debian:12", "--backend", backend, "--allow-host-compat", "--network-policy", "egress+published-ports", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    const guestPort = 18500;
    // perl-base is in debian:12: a listener on every guest address that answers one line.
    const server = `exec perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalAddr=>"0.0.0.0:${guestPort}",Listen=>5,ReuseAddr=>1) or die; while($c=$s->accept){ print $c "published\\n"; close $c }'`;
    const started = await pyro(["workspace", "service", "start", id, "web", "--json", "--ready-tcp", `127.0.0.1:${guestPort}`, "--publish", String(guestPort), "--", server]);
    expect(started.code, started.stderr).toBe(0);
    const hostPort = (JSON.parse(started.stdout) as { published_ports: Array<{ host_port: number }> }).published_ports[0]!.host_port;
    // Probed from the lab's "host" namespace: its loopback, and the address the lab gave it.
    const probe = spawnSync("ip", ["netns", "exec", lab.outer, "bash", "-c", probeScript([["loopback", "127.0.0.1", hostPort], ["address", LAB.hostAddress, hostPort]])], { encoding: "utf8", timeout: 30_000 });
    const probes = parseProbes(probe.stdout);
    expect(probes.loopback?.answer).toBe("published");
    expect(probes.address?.answer).toBe("refused");
    expect((await pyro(["workspace", "delete", id, "--json"])).code).toBe(0);
  });

  it.skipIf(!ok)("the user-mode stack goes with the machine: kill -9 of the machine, then delete, leave nothing", async () => {
    const created = await pyro(["workspace", "create", "debian:12", "--backend", backend, "--allow-host-compat", "--network-policy", "egress", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    const exec = await pyro(["workspace", "exec", id, "--json", "--", "bash", "-c", probeScript(TARGETS.slice(0, 2))]);
    const probes = parseProbes((JSON.parse(exec.stdout) as { stdout: string }).stdout);
    expect(probes.wan?.answer).toBe("wan");
    expect(probes.private?.answer).toBe("refused");
    expect(stacksUnder(state.dir)).toHaveLength(1);
    // No guest process holds the launcher's network signal socket (the stack's exit fd): the shell has no socket open.
    const fds = await pyro(["workspace", "exec", id, "--json", "--", "sh", "-c", "for f in /proc/$$/fd/*; do echo \"$f $(readlink $f)\"; done"]);
    const open = (JSON.parse(fds.stdout) as { stdout: string }).stdout;
    expect(open.split("\n").filter((line) => line.includes("socket:")), open).toEqual([]);
    const record = JSON.parse(readFileSync(`${state.dir}/workspaces/${id}/record.json`, "utf8")) as { handle: { pid: number; agentPid?: number } };
    for (const pid of [record.handle.agentPid, record.handle.pid]) if (pid) process.kill(pid, "SIGKILL");
    // The stack notices by itself (its exit fd closes with the machine's last process).
    for (let i = 0; i < 100 && stacksUnder(state.dir).length > 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(stacksUnder(state.dir)).toEqual([]);
    expect((await pyro(["workspace", "delete", id, "--json"])).code).toBe(0);
    expect(pidsMentioning(state.dir)).toEqual([]);
  });
});

