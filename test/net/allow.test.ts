import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { checkAllowList, egressRuleset } from "../../src/net/index.js";
import { Pyro } from "../../src/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";
import { createNetLab, LAB, NETLAB_AVAILABLE, parseProbes, probeScript, type NetLab } from "../helpers/netlab.js";
import { pidsMentioning } from "../helpers/processes.js";

// What the guest resolves: `resolve NAME ADDRESS` (ADDRESS empty when the name does not resolve).
const RESOLVE = ["allowed.test", "other.test", "www.wild.test"]
  .map((name) => `echo "resolve ${name} $(getent ahostsv4 ${name} | head -1 | cut -d' ' -f1)"`)
  .join("\n");
// The same over TCP (what a client does with a truncated answer): `resolve tcp:NAME ADDRESS`.
const RESOLVE_TCP = ["allowed.test", "other.test"]
  .map((name) => `echo "resolve tcp:${name} $(RES_OPTIONS=use-vc getent ahostsv4 ${name} | head -1 | cut -d' ' -f1)"`)
  .join("\n");

// A query for other.test sent straight to the user-mode stack's forwarder
// (10.0.2.3), around pyro's resolver: `bypass resolved` if an address came back.
const BYPASS = `perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(PeerAddr => "10.0.2.3:53", Proto => "udp") or do { print "bypass none\\n"; exit };
  my $q = pack("nnnnnn", 0x1234, 0x0100, 1, 0, 0, 0) . join("", map { chr(length) . $_ } split /\\./, "other.test") . "\\0" . pack("nn", 1, 1);
  $s->send($q); my $r = "";
  eval { local $SIG{ALRM} = sub { die }; alarm 2; $s->recv($r, 512); alarm 0 };
  print((length($r) >= 12 && (unpack("n", substr($r, 2, 2)) & 15) == 0 && unpack("n", substr($r, 6, 2)) > 0) ? "bypass resolved\\n" : "bypass none\\n");'`;

function resolved(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const [word, name, address] = line.split(" ");
    if (word === "resolve" && name) out[name] = address ?? "";
  }
  return out;
}

// The connect probes: by allowed name, by an address never resolved for an
// allowed name, into the allowed CIDR, and the metadata address.
const TARGETS: Array<[string, string, number]> = [
  ["by-name", "allowed.test", LAB.port],
  ["by-wildcard", "www.wild.test", LAB.port],
  ["other-ip", LAB.other, LAB.port],
  ["private", LAB.privateAddress, LAB.port],
  ["metadata", LAB.metadata, 80],
];

const ALLOW_FLAGS = ["--allow-host", "allowed.test", "--allow-host", "*.wild.test", "--allow-cidr", "10.1.2.0/24"];

/** Live allow-list resolvers started from `dir`. */
function resolvers(dir: string): number[] {
  return pidsMentioning(dir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--dns-allow"));
}

// Issue 13, allow-lists: with --allow-host the guest resolves and reaches only
// those names (and --allow-cidr); a name on the same internet server, and an
// address nobody resolved for an allowed name, are refused at once. The lab's
// wan namespace serves DNS for allowed.test, www.wild.test and other.test.
describe.each(SUITE_BACKENDS)("allow-lists on $name", ({ name: backend, available, needs }) => {
  const ok = available && NETLAB_AVAILABLE;
  const state = tempStateDir();
  let lab: NetLab;
  const env = { ...process.env, PYRO_STATE_DIR: state.dir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR };
  const pyro = (args: string[]) => runCli([...args], env, { timeoutMs: 300_000, wrap: lab.inOuter });

  beforeAll(async () => {
    if (!ok) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    lab = await createNetLab({ dns: true });
  }, 900_000);
  afterAll(() => {
    lab?.cleanup();
    state.cleanup();
  });

  it.skipIf(!ok)(`only allowed names resolve and answer; other names, unresolved addresses and the metadata address are refused fast (needs ${needs}, ip, slirp4netns, nft)`, async () => {
    const script = [RESOLVE, RESOLVE_TCP, probeScript(TARGETS), BYPASS].join("\n");
    const run = await pyro(["run", "--backend", backend, "--allow-host-compat", "--network", ...ALLOW_FLAGS, "--json", "debian:12", "--", "bash", "-c", script]);
    expect(run.code, run.stderr).toBe(0);
    const stdout = (JSON.parse(run.stdout) as { stdout: string }).stdout;
    expect(resolved(stdout)).toEqual({ "allowed.test": LAB.wan, "other.test": "", "www.wild.test": LAB.wan, "tcp:allowed.test": LAB.wan, "tcp:other.test": "" });
    const probes = parseProbes(stdout.split("\n").filter((line) => !line.startsWith("resolve ") && !line.startsWith("bypass ")).join("\n"));
    expect(probes["by-name"]?.answer).toBe("wan");
    expect(probes["by-wildcard"]?.answer).toBe("wan");
    expect(probes.private?.answer, "the allowed CIDR inside a private range").toBe("private");
    for (const name of ["other-ip", "metadata"]) {
      expect(probes[name]?.answer, `${name}: ${JSON.stringify(probes[name])}`).toBe("refused");
      expect(probes[name]!.ms, `${name} took ${probes[name]!.ms} ms`).toBeLessThan(2000);
    }
    expect(stdout).toContain("bypass none");
    // The one-shot machine, its stack and its resolver are gone.
    expect(pidsMentioning(state.dir)).toEqual([]);
  });

  it.skipIf(!ok)("plain egress resolves every name through the stack's forwarder, though the host's nameserver is a private address", async () => {
    const run = await pyro(["run", "--backend", backend, "--allow-host-compat", "--network", "--json", "debian:12", "--", "bash", "-c", `${RESOLVE}\n${probeScript([["other", "other.test", LAB.port]])}`]);
    expect(run.code, run.stderr).toBe(0);
    const stdout = (JSON.parse(run.stdout) as { stdout: string }).stdout;
    expect(resolved(stdout)).toEqual({ "allowed.test": LAB.wan, "other.test": LAB.other, "www.wild.test": LAB.wan });
    expect(parseProbes(stdout.split("\n").filter((l) => !l.startsWith("resolve ")).join("\n")).other?.answer).toBe("other");
  });

  it.skipIf(!ok)("a workspace reports its allow-lists, its resolver dies with the machine (kill -9), and reset brings both back", async () => {
    const created = await pyro(["workspace", "create", "debian:12", "--backend", backend, "--allow-host-compat", "--network-policy", "egress",
      "--allow-host", "Allowed.Test.", "--allow-cidr", "10.1.2.3/24", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    const status = JSON.parse((await pyro(["workspace", "status", id, "--json"])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ network_policy: "egress", allow_hosts: ["allowed.test"], allow_cidrs: ["10.1.2.0/24"] });
    const exec = await pyro(["workspace", "exec", id, "--json", "--", "bash", "-c", `${RESOLVE}\n${probeScript([["other-ip", LAB.other, LAB.port]])}`]);
    const stdout = (JSON.parse(exec.stdout) as { stdout: string }).stdout;
    expect(resolved(stdout)).toEqual({ "allowed.test": LAB.wan, "other.test": "", "www.wild.test": "" });
    expect(parseProbes(stdout.split("\n").filter((l) => !l.startsWith("resolve ")).join("\n"))["other-ip"]?.answer).toBe("refused");
    const dir = `${state.dir}/workspaces/${id}`;
    expect(resolvers(dir)).toHaveLength(1);
    const record = JSON.parse(readFileSync(`${dir}/record.json`, "utf8")) as { handle: { pid: number; agentPid?: number } };
    for (const pid of [record.handle.agentPid, record.handle.pid]) if (pid) process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && resolvers(dir).length > 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(resolvers(dir)).toEqual([]);
    // Reset rebuilds the machine from the record: the allow-list comes back with a resolver of its own.
    const reset = await pyro(["workspace", "reset", id, "--json"]);
    expect(reset.code, reset.stderr).toBe(0);
    const again = await pyro(["workspace", "exec", id, "--json", "--", "bash", "-c", RESOLVE]);
    expect(resolved((JSON.parse(again.stdout) as { stdout: string }).stdout)).toEqual({ "allowed.test": LAB.wan, "other.test": "", "www.wild.test": "" });
    expect(resolvers(dir)).toHaveLength(1);
    expect((await pyro(["workspace", "delete", id, "--json"])).code).toBe(0);
    expect(pidsMentioning(state.dir)).toEqual([]);
  });
});

describe("allow-list input", () => {
  // Checked before any state or cache is touched: these directories never exist.
  const pyro = new Pyro({ stateDir: "/nonexistent-state", cacheDir: "/nonexistent-cache", warmSpares: false });

  it("refuses allow-lists without egress, naming the fix", async () => {
    const run = await expectPyroError(pyro.runInVm({ environment: "debian:12", command: "true", allow_hosts: ["example.com"] }), "invalid_argument");
    expect(run.message).toContain("--allow-host");
    expect(run.hint).toContain("--network");
    const ws = await expectPyroError(pyro.createWorkspace({ environment: "debian:12", allow_cidrs: ["10.0.0.0/8"] }), "invalid_argument");
    expect(ws.hint).toContain("--network-policy egress");
  });

  it("refuses malformed names and CIDRs, and addresses given as names", async () => {
    for (const host of ["exa mple.com", "*.", "a..b", "-x.com", "*.*.x.com", "x".repeat(64) + ".com"]) {
      const error = await expectPyroError(pyro.runInVm({ environment: "debian:12", command: "true", network: true, allow_hosts: [host] }), "invalid_argument");
      expect(error.message).toContain("is not a host name");
    }
    const ip = await expectPyroError(pyro.runInVm({ environment: "debian:12", command: "true", network: true, allow_hosts: ["10.1.2.3"] }), "invalid_argument");
    expect(ip.hint).toContain("--allow-cidr 10.1.2.3");
    for (const cidr of ["10.1.2.0/33", "10.1.2/24", "example.com", "::1/129", "10.0.0.0/8/1"]) {
      const error = await expectPyroError(pyro.runInVm({ environment: "debian:12", command: "true", network: true, allow_cidrs: [cidr] }), "invalid_argument");
      expect(error.message).toContain("is not a CIDR");
    }
  });

  it("the CLI takes --allow-host and --allow-cidr and reports a missing --network as invalid_argument", async () => {
    const state = tempStateDir();
    try {
      const run = await runCli(["run", "debian:12", "--allow-host", "example.com", "--json", "--", "true"], { ...process.env, PYRO_STATE_DIR: state.dir });
      expect(run.code).not.toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: "invalid_argument", hint: expect.stringContaining("--network") } });
    } finally {
      state.cleanup();
    }
  });

  it.skipIf(!SUITE_BACKENDS[0]?.available)("vm_network_info reports a VM's effective allow-lists (SDK; created, never started)", async () => {
    const state = tempStateDir();
    const sdk = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    try {
      const vm = await sdk.createVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, network: true, allow_hosts: ["*.Example.com"], allow_cidrs: ["10.1.2.3/24"] });
      expect(await sdk.networkInfoVm({ vm_id: vm.vm_id })).toMatchObject({ network_enabled: true, policy: "egress", allow_hosts: ["*.example.com"], allow_cidrs: ["10.1.2.0/24"] });
      const plain = await sdk.createVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, network: true });
      expect(await sdk.networkInfoVm({ vm_id: plain.vm_id })).toMatchObject({ allow_hosts: [], allow_cidrs: [] });
      for (const id of [vm.vm_id, plain.vm_id]) await sdk.deleteVm({ vm_id: id });
    } finally {
      await sdk.close();
      state.cleanup();
    }
  }, 300_000);

  it("normalises: lower-case names, network-form CIDRs, nested CIDRs folded into the widest", () => {
    expect(checkAllowList("egress", ["API.Example.com.", "api.example.com"], ["10.1.2.3/24", "10.0.0.0/8", "2001:db8::1/32", "192.0.2.7"])).toEqual({
      hosts: ["api.example.com"],
      cidrs: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"],
    });
  });

  it.skipIf(spawnSync("sh", ["-c", "command -v nft && command -v unshare"]).status !== 0 || process.getuid?.() !== 0)(
    "the filter with an allow-list loads into nftables (checked in a throwaway namespace)",
    () => {
      const allow = checkAllowList("egress", ["allowed.test"], ["10.1.2.0/24", "fd00::/8"]);
      const rules = egressRuleset({ allowCidrs: allow.cidrs, restrictToResolved: true, hostAddresses: ["198.51.100.1", "2001:db8::5"] });
      expect(rules).toContain("set allowed4");
      const check = spawnSync("unshare", ["--net", "nft", "-c", "-f", "-"], { input: rules, encoding: "utf8" });
      expect(check.status, check.stderr).toBe(0);
    },
  );
});
