// Soak diagnosis (issue 19): does `pyro mcp serve` leak, or does V8 only grow
// its heap lazily? Runs SOAK_HEAP_ROUNDS rounds (default 6) of SOAK_EXECS
// `workspace exec` (default 1000) and SOAK_RUNS `vm_run` (default 200) through
// the official MCP client, like soak.mjs. After each round it makes the server
// write a heap snapshot (`--heapsnapshot-signal`: V8 runs a full GC first), and
// reports the live heap after that GC (the snapshot's total), the RSS right
// after it, and which kinds of objects grew between the first round (warm-up
// done) and the last. A leak shows as a live heap that grows every round by
// roughly the same amount and a kind of object whose count grows with the
// calls; lazy growth as a live heap that stays flat while RSS wanders.
// SOAK_BACKEND (default sandbox).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const ROUNDS = Number(process.env.SOAK_HEAP_ROUNDS ?? 6);
const EXECS = Number(process.env.SOAK_EXECS ?? 1000);
const RUNS = Number(process.env.SOAK_RUNS ?? 200);
const backend = process.env.SOAK_BACKEND ?? "sandbox";

const rssMib = (pid) => Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024);
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** Live objects of a heap snapshot by kind (`type:name`): count and bytes, plus the total. */
function summarise(path) {
  const snap = JSON.parse(readFileSync(path, "utf8"));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [T, N, S] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const width = fields.length;
  const kinds = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + T]];
    const size = snap.nodes[i + S];
    total += size;
    // Strings and code by type alone: their "names" are their contents.
    const name = type === "object" || type === "closure" || type === "native" ? `${type}:${snap.strings[snap.nodes[i + N]]}` : type;
    const k = kinds.get(name) ?? { count: 0, bytes: 0 };
    k.count += 1;
    k.bytes += size;
    kinds.set(name, k);
  }
  return { total, kinds };
}

/** Signal the server to write a snapshot into `dir` and wait until the file is complete. */
async function snapshot(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const added = readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (added.length === 0) continue;
    const path = join(dir, added[0]);
    const size = statSync(path).size;
    await new Promise((r) => setTimeout(r, 1000));
    // Written in one go: complete once its size stopped changing and it parses.
    if (statSync(path).size === size && size > 0) {
      try {
        return { path, ...summarise(path), rss_mib: rssMib(pid), fds: fds(pid) };
      } catch {
        // still being written
      }
    }
  }
}

const stateDir = mkdtempSync(join(tmpdir(), "pyro-soak-heap-"));
const diagDir = mkdtempSync(join(tmpdir(), "pyro-soak-snapshots-"));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${diagDir}`, new URL("../dist/cli.js", import.meta.url).pathname, "mcp", "serve"],
  env: { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir },
  stderr: "ignore",
});
const client = new Client({ name: "pyro-soak-heap", version: "1" });
const TOOLS = { createWorkspace: "workspace_create", execWorkspace: "workspace_exec", deleteWorkspace: "workspace_delete", runInVm: "vm_run" };
const call = async (name, input) => {
  const r = await client.callTool({ name: TOOLS[name], arguments: input }, undefined, { timeout: 300_000 });
  if (r.isError) throw new Error(`${TOOLS[name]}: ${JSON.stringify(r.content)}`);
  return r.structuredContent;
};
const rounds = [];
try {
  await client.connect(transport);
  const pid = transport.pid;
  const ws = await call("createWorkspace", { environment: "debian:12", backend, allow_host_compat: true });
  rounds.push({ round: 0, calls: 0, ...(await snapshot(pid, diagDir)) });
  let calls = 0;
  for (let round = 1; round <= ROUNDS; round += 1) {
    const t = performance.now();
    for (let i = 1; i <= EXECS; i += 1) {
      const r = await call("execWorkspace", { workspace_id: ws.workspace_id, command: `echo ${i}` });
      if (r.exit_code !== 0 || r.stdout.trim() !== String(i)) throw new Error(`exec ${i} returned ${JSON.stringify(r)}`);
    }
    for (let i = 1; i <= RUNS; i += 1) {
      const r = await call("runInVm", { environment: "debian:12", backend, allow_host_compat: true, command: "true" });
      if (r.exit_code !== 0) throw new Error(`vm_run ${i} returned ${JSON.stringify(r)}`);
    }
    calls += EXECS + RUNS;
    const s = await snapshot(pid, diagDir);
    rounds.push({ round, calls, seconds: Math.round((performance.now() - t) / 1000), load: loadavg()[0].toFixed(1), ...s });
    const prev = rounds[rounds.length - 2];
    console.log(
      `round ${round}: ${calls} calls; live heap after GC ${(s.total / 2 ** 20).toFixed(2)} MiB (${((s.total - prev.total) / 1024).toFixed(0)} KiB since the last round), RSS ${s.rss_mib} MiB, fds ${s.fds}, load ${loadavg()[0].toFixed(1)}`,
    );
    // Only the summaries are kept: each snapshot is tens of MiB.
    rmSync(s.path, { force: true });
  }
  await call("deleteWorkspace", { workspace_id: ws.workspace_id });
} finally {
  await client.close().catch(() => undefined);
  rmSync(stateDir, { recursive: true, force: true });
}

// What grew between round 1 (warm-up over) and the last round.
const first = rounds[1];
const last = rounds[rounds.length - 1];
const growth = [...last.kinds]
  .map(([kind, k]) => ({ kind, count: k.count - (first.kinds.get(kind)?.count ?? 0), bytes: k.bytes - (first.kinds.get(kind)?.bytes ?? 0) }))
  .sort((a, b) => b.bytes - a.bytes)
  .slice(0, 15);
const perRound = (last.total - first.total) / (last.round - first.round);
console.log(`\nlive heap after GC: round 1 ${(first.total / 2 ** 20).toFixed(2)} MiB, round ${last.round} ${(last.total / 2 ** 20).toFixed(2)} MiB: ${(perRound / 1024).toFixed(0)} KiB per ${EXECS + RUNS} calls`);
console.log(`RSS: ${rounds.map((r) => r.rss_mib).join(" → ")} MiB; fds: ${rounds.map((r) => r.fds).join(" → ")}`);
console.log("largest growth by kind of object, round 1 → last:");
for (const g of growth) console.log(`  ${g.kind.slice(0, 60).padEnd(60)} ${String(g.count).padStart(8)} objects ${String(Math.round(g.bytes / 1024)).padStart(8)} KiB`);
console.log(`\nJSON ${JSON.stringify({ backend, execs_per_round: EXECS, runs_per_round: RUNS, rounds: rounds.map(({ kinds: _k, path: _p, ...r }) => r), growth })}`);
if (existsSync(diagDir)) rmSync(diagDir, { recursive: true, force: true });
