// A network lab for the benchmarks, the same shape as test/helpers/netlab.ts
// (benches import built JS only, so this is a small copy): an "outer"
// namespace plays the host pyro runs on, a "wan" namespace behind a veth pair
// plays the internet at 198.51.100.10 (a documentation address). Every address
// is assigned inside namespaces made here; no packet leaves them.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** The lab's addresses and the download server's port. */
export const NETLAB = { hostAddress: "198.51.100.1", wan: "198.51.100.10", port: 8080 };

// An HTTP server that generates the bytes it sends (no disk): GET /bytes/N
// answers N bytes from one reused 1 MiB buffer, honouring back-pressure.
const SERVER = `
const http = require("node:http");
const chunk = Buffer.alloc(1 << 20, 0x78);
http.createServer((req, res) => {
  const m = /^\\/bytes\\/(\\d+)$/.exec(req.url ?? "");
  if (!m) { res.writeHead(404).end(); return; }
  let left = Number(m[1]);
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": left });
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once("drain", pump); return; }
    }
    res.end();
  };
  pump();
}).listen(Number(process.argv[2]), process.argv[1]);
`;

function ip(args) {
  const run = spawnSync("ip", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`ip ${args.join(" ")}: ${run.stderr}`);
}

/** Whether the lab can be built here: root, ip, slirp4netns and nft (pyro's network needs the last two). */
export function netlabAvailable() {
  return process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v ip && command -v slirp4netns && command -v nft"]).status === 0;
}

/**
 * Build the lab and start the download server in the wan namespace. Returns
 * `{ outer, wan, inOuter, cleanup }`; `inOuter` is the argv prefix that runs
 * a command in the outer namespace. Call `cleanup` in a `finally`.
 */
export async function createNetLab() {
  const tag = randomBytes(3).toString("hex");
  const outer = `pyro-b-o-${tag}`;
  const wan = `pyro-b-w-${tag}`;
  let server;
  const lab = {
    outer,
    wan,
    inOuter: ["ip", "netns", "exec", outer],
    cleanup: () => {
      server?.kill("SIGKILL");
      spawnSync("ip", ["netns", "del", `${outer}-in`]);
      spawnSync("ip", ["netns", "del", outer]);
      spawnSync("ip", ["netns", "del", wan]);
    },
  };
  try {
    ip(["netns", "add", outer]);
    ip(["netns", "add", wan]);
    ip(["-n", outer, "link", "add", "vo", "type", "veth", "peer", "name", "vw", "netns", wan]);
    ip(["-n", outer, "addr", "add", `${NETLAB.hostAddress}/24`, "dev", "vo"]);
    ip(["-n", wan, "addr", "add", `${NETLAB.wan}/24`, "dev", "vw"]);
    for (const [ns, dev] of [[outer, "vo"], [wan, "vw"], [outer, "lo"], [wan, "lo"]]) ip(["-n", ns, "link", "set", dev, "up"]);
    ip(["-n", outer, "route", "add", "default", "via", NETLAB.wan]);
    server = spawn("ip", ["netns", "exec", wan, process.execPath, "-e", SERVER, NETLAB.wan, String(NETLAB.port)], { stdio: "ignore" });
    for (let i = 0; i < 100; i += 1) {
      const probe = spawnSync("ip", ["netns", "exec", outer, "bash", "-c", `exec 3<>/dev/tcp/${NETLAB.wan}/${NETLAB.port}`], { timeout: 2000 });
      if (probe.status === 0) return lab;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("the lab's download server did not come up");
  } catch (error) {
    lab.cleanup();
    throw error;
  }
}

/**
 * A bare user-mode stack, no pyro: a fresh namespace (`<outer>-in`) behind
 * `slirp4netns` (pyro's flags: MTU 65520, no host loopback) or `pasta`, its
 * sockets in the lab's outer namespace. Returns `{ inInner, stop }`; `inInner`
 * is the argv prefix that runs a command inside. Only one at a time.
 */
export async function bareStack(lab, kind) {
  const inner = `${lab.outer}-in`;
  ip(["netns", "add", inner]);
  const argv =
    kind === "slirp4netns"
      ? ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--netns-type=path", `/run/netns/${inner}`, "tap0"]
      : // pasta as root would switch to nobody, who cannot enter the namespace; the same addresses as slirp4netns, no port forwarding.
        ["pasta", "-f", "-q", "--runas", "0:0", "--netns", inner, "--config-net", "-a", "10.0.2.100", "-n", "24", "-g", "10.0.2.2", "--no-map-gw",
          "-t", "none", "-u", "none", "-T", "none", "-U", "none"];
  const stack = spawn("ip", ["netns", "exec", lab.outer, ...argv], { stdio: "ignore" });
  const stop = () => {
    stack.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", inner]);
  };
  for (let i = 0; i < 200; i += 1) {
    if (spawnSync("ip", ["-n", inner, "route", "show", "default"], { encoding: "utf8" }).stdout.trim()) return { inInner: ["ip", "netns", "exec", inner], stop };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  stop();
  throw new Error(`${kind} did not configure the namespace`);
}
