import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";

/** Whether this host can build the lab: root, `ip` and network namespaces. */
export const NETLAB_AVAILABLE =
  process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v ip && command -v slirp4netns && command -v nft"]).status === 0;

/**
 * Addresses of the lab. Every one is assigned by the lab itself inside the
 * namespaces it creates; no packet of a test leaves them.
 */
export const LAB = {
  /** The "host" namespace pyro runs in: its own address on the lab's link. */
  hostAddress: "198.51.100.1",
  /** A server on the documentation range plays the internet. */
  wan: "198.51.100.10",
  /** A private address and the cloud metadata address, behind the wan link. */
  privateAddress: "10.1.2.3",
  metadata: "169.254.169.254",
  /** A second internet server, named `other.test` by the lab's DNS server (with `dns`). */
  other: "203.0.113.10",
  /**
   * Names the lab's DNS server answers, with their A records. It listens on
   * the private address (port 53), as many hosts' resolvers do: a guest must
   * get its answers through the user-mode stack, never by reaching it.
   */
  names: { "allowed.test": "198.51.100.10", "other.test": "203.0.113.10", "www.wild.test": "198.51.100.10" } as Record<string, string>,
  /** Ports the lab's servers listen on. */
  port: 8080,
  hostLoopbackPort: 18081,
  hostAddressPort: 18082,
} as const;

// One small TCP server per address: it answers with its name and closes.
const SERVER = `
const net = require("node:net");
for (const spec of process.argv.slice(1)) {
  const [host, port, name] = spec.split(",");
  net.createServer((s) => s.end(name + "\\n")).listen(Number(port), host);
}
setInterval(() => {}, 1 << 30);
`;

// A tiny DNS server: A records for the names given as JSON, an empty answer for
// other types of those names, NXDOMAIN for the rest. Bounded: one question.
const DNS_SERVER = `
const dgram = require("node:dgram");
const net = require("node:net");
const names = JSON.parse(process.argv[2]);
function answer(msg) {
  if (msg.length < 17 || msg.length > 512) return null;
  let off = 12; const labels = [];
  while (off < msg.length && msg[off] !== 0 && labels.length < 64) { labels.push(msg.toString("latin1", off + 1, off + 1 + msg[off])); off += 1 + msg[off]; }
  const qtype = msg.readUInt16BE(off + 1);
  const question = msg.subarray(12, off + 5);
  const address = names[labels.join(".").toLowerCase()];
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | (address ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  const answers = [];
  if (address && qtype === 1) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(1, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(60, 6); rr.writeUInt16BE(4, 10);
    address.split(".").forEach((part, i) => (rr[12 + i] = Number(part)));
    answers.push(rr);
  }
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}
const socket = dgram.createSocket("udp4");
socket.on("message", (msg, from) => { const a = answer(msg); if (a) socket.send(a, from.port, from.address); });
socket.bind(53, process.argv[1]);
// DNS over TCP: one length-prefixed query per read.
net.createServer((c) => {
  let buf = Buffer.alloc(0);
  c.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]).subarray(0, 1024);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const a = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      if (a) { const size = Buffer.alloc(2); size.writeUInt16BE(a.length); c.write(Buffer.concat([size, a])); }
    }
  });
  c.on("error", () => {});
}).listen(53, process.argv[1]);
setInterval(() => {}, 1 << 30);
`;

function ip(args: string[]): void {
  const run = spawnSync("ip", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`ip ${args.join(" ")}: ${run.stderr}`);
}

/** A lab of two namespaces: "outer" (pyro's host) and "wan" (the internet), joined by a veth pair. */
export interface NetLab {
  outer: string;
  wan: string;
  /** argv prefix that runs a command inside the outer namespace. */
  inOuter: string[];
  cleanup(): void;
}

/**
 * Build the lab and start its servers. With `dns`, a DNS server on the wan
 * answers {@link LAB.names}, and the outer namespace's resolver points at it
 * (`/etc/netns/<outer>/resolv.conf`, which `ip netns exec` binds over
 * /etc/resolv.conf: the user-mode stack's DNS forwarding reads it); `names`
 * adds A records to {@link LAB.names}.
 */
export async function createNetLab(options: { dns?: boolean; names?: Record<string, string> } = {}): Promise<NetLab> {
  const tag = randomBytes(3).toString("hex");
  const outer = `pyro-t-o-${tag}`;
  const wan = `pyro-t-w-${tag}`;
  const servers: ChildProcess[] = [];
  const lab: NetLab = {
    outer,
    wan,
    inOuter: ["ip", "netns", "exec", outer],
    cleanup: () => {
      for (const server of servers) server.kill("SIGKILL");
      rmSync(`/etc/netns/${outer}`, { recursive: true, force: true });
      spawnSync("ip", ["netns", "del", outer]);
      spawnSync("ip", ["netns", "del", wan]);
    },
  };
  try {
    ip(["netns", "add", outer]);
    ip(["netns", "add", wan]);
    // Made inside the lab's namespaces: nothing of it ever exists in the host's.
    ip(["-n", outer, "link", "add", "vo", "type", "veth", "peer", "name", "vw", "netns", wan]);
    ip(["-n", outer, "addr", "add", `${LAB.hostAddress}/24`, "dev", "vo"]);
    ip(["-n", wan, "addr", "add", `${LAB.wan}/24`, "dev", "vw"]);
    for (const [ns, dev] of [[outer, "vo"], [wan, "vw"], [outer, "lo"], [wan, "lo"]] as const) ip(["-n", ns, "link", "set", dev, "up"]);
    ip(["-n", outer, "route", "add", "default", "via", LAB.wan]);
    // Extra addresses on the wan's loopback (this kernel has no dummy devices); reached through the veth.
    ip(["-n", wan, "addr", "add", `${LAB.privateAddress}/32`, "dev", "lo"]);
    ip(["-n", wan, "addr", "add", `${LAB.metadata}/32`, "dev", "lo"]);
    ip(["-n", wan, "addr", "add", `${LAB.other}/32`, "dev", "lo"]);
    if (options.dns) {
      mkdirSync(`/etc/netns/${outer}`, { recursive: true });
      writeFileSync(`/etc/netns/${outer}/resolv.conf`, `nameserver ${LAB.privateAddress}\n`);
      servers.push(spawn("ip", ["netns", "exec", wan, process.execPath, "-e", DNS_SERVER, LAB.privateAddress, JSON.stringify({ ...LAB.names, ...options.names })], { stdio: "ignore" }));
    }
    servers.push(
      spawn("ip", ["netns", "exec", wan, process.execPath, "-e", SERVER, `${LAB.wan},${LAB.port},wan`, `${LAB.privateAddress},${LAB.port},private`, `${LAB.metadata},80,metadata`, `${LAB.other},${LAB.port},other`], {
        stdio: "ignore",
      }),
      spawn("ip", ["netns", "exec", outer, process.execPath, "-e", SERVER, `127.0.0.1,${LAB.hostLoopbackPort},host-loopback`, `${LAB.hostAddress},${LAB.hostAddressPort},host-address`], {
        stdio: "ignore",
      }),
    );
    // Ready once the wan server answers from the outer namespace.
    for (let i = 0; i < 100; i += 1) {
      const probe = spawnSync("ip", ["netns", "exec", outer, "bash", "-c", `exec 3<>/dev/tcp/${LAB.wan}/${LAB.port} && head -1 <&3`], { encoding: "utf8", timeout: 2000 });
      if (probe.stdout.trim() === "wan") return lab;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("the lab's servers did not come up");
  } catch (error) {
    lab.cleanup();
    throw error;
  }
}

/**
 * A guest shell script that tries each target (`NAME HOST PORT`) with a 5 s
 * bound and prints `NAME <answer|refused> <ms>` per line.
 */
export function probeScript(targets: Array<[string, string, number]>): string {
  return targets
    .map(
      ([name, host, port]) =>
        `s=$(date +%s%3N); a=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port} && head -1 <&3' 2>/dev/null); ` +
        `echo "${name} \${a:-refused} $(( $(date +%s%3N) - s ))"`,
    )
    .join("\n");
}

/** Parse {@link probeScript}'s output. */
export function parseProbes(stdout: string): Record<string, { answer: string; ms: number }> {
  const result: Record<string, { answer: string; ms: number }> = {};
  for (const line of stdout.trim().split("\n")) {
    const [name, answer, ms] = line.split(" ");
    if (name) result[name] = { answer: answer ?? "", ms: Number(ms) };
  }
  return result;
}
