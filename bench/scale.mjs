// Scale (issue 19): SCALE_N workspaces (default 20) of SCALE_MEM_MIB (default
// 256) on SCALE_BACKEND (default qemu) at once on this host: all created
// concurrently, then SCALE_ROUNDS rounds (default 5) of one exec in every
// workspace in parallel, then all deleted. Meanwhile a poller times `doctor`
// and `workspace list` (through the CLI, as another process would) every 2 s.
// Reports create time, per-exec median and p95, the pollers' worst latency,
// and fails (exit 1) when a call fails or an exec round's p95 passes
// SCALE_EXEC_P95_MS (default 5000 ms), or a list/doctor call passes 10 s.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pyro } from "../dist/index.js";
import { ensureEnvironment } from "../dist/environments/index.js";
import { median } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const N = Number(process.env.SCALE_N ?? 20);
const MEM = Number(process.env.SCALE_MEM_MIB ?? 256);
const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 5);
const backend = process.env.SCALE_BACKEND ?? "qemu";
const EXEC_P95_BOUND = Number(process.env.SCALE_EXEC_P95_MS ?? 5000);
const POLL_BOUND = 10_000;
const cli = new URL("../dist/cli.js", import.meta.url).pathname;

await ensureEnvironment("debian:12", { cacheDir, kernel: backend !== "sandbox" });
const stateDir = mkdtempSync(join(tmpdir(), "pyro-scale-"));
const env = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
const pyro = new Pyro({ stateDir, cacheDir, warmSpares: false });
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Time one CLI call as another process; resolves to ms, rejects on failure. */
function timedCli(args) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: "ignore" });
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`pyro ${args.join(" ")} exited ${code}`))));
  });
}

const polls = { doctor: [], list: [] };
let polling = true;
const poller = (async () => {
  while (polling) {
    polls.list.push(await timedCli(["workspace", "list", "--json"]));
    polls.doctor.push(await timedCli(["doctor", "--json"]));
    await new Promise((r) => setTimeout(r, 2000));
  }
})();

const ids = [];
let failed = false;
try {
  const t0 = performance.now();
  const createMs = [];
  const creates = await Promise.allSettled(
    Array.from({ length: N }, async () => {
      const t = performance.now();
      const ws = await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, mem_mib: MEM, vcpu_count: 1 });
      ids.push(ws.workspace_id); // at once: a failure of another create must not leak this one
      createMs.push(performance.now() - t);
      return ws.workspace_id;
    }),
  );
  const failures = creates.filter((c) => c.status === "rejected").map((c) => c.reason?.message ?? String(c.reason));
  if (failures.length > 0) {
    console.log(`${failures.length} of ${N} concurrent creates failed; the first: ${failures[0].split("\n")[0]}`);
    throw new Error(`${failures.length} of ${N} creates failed`);
  }
  const createAll = performance.now() - t0;
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    const execMs = await Promise.all(
      ids.map(async (id, i) => {
        const t = performance.now();
        const r = await pyro.execWorkspace({ workspace_id: id, command: `echo ${round}-${i} && cat /proc/meminfo | head -1` });
        if (r.exit_code !== 0 || !r.stdout.startsWith(`${round}-${i}`)) throw new Error(`exec in ${id}: ${JSON.stringify(r)}`);
        return performance.now() - t;
      }),
    );
    rounds.push({ median: Math.round(median(execMs)), p95: Math.round(p95(execMs)), max: Math.round(Math.max(...execMs)) });
  }
  const tDel = performance.now();
  await Promise.all(ids.map((id) => pyro.deleteWorkspace({ workspace_id: id })));
  const deleteAll = performance.now() - tDel;
  ids.length = 0;
  polling = false;
  await poller;
  const allExec = rounds.map((r) => r.p95);
  console.log(`${N} ${backend} workspaces of ${MEM} MiB, 1 vCPU, at once on ${(await import("node:os")).cpus().length} cores`);
  console.log(`  create all (concurrent): ${Math.round(createAll / 1000)} s; per workspace median ${Math.round(median(createMs) / 1000)} s, p95 ${Math.round(p95(createMs) / 1000)} s`);
  for (const [i, r] of rounds.entries()) console.log(`  exec round ${i + 1} (${N} in parallel): median ${r.median} ms, p95 ${r.p95} ms, max ${r.max} ms`);
  console.log(`  delete all (concurrent): ${Math.round(deleteAll / 1000)} s`);
  console.log(`  meanwhile: workspace list median ${Math.round(median(polls.list))} ms, max ${Math.round(Math.max(...polls.list))} ms (${polls.list.length} calls); doctor median ${Math.round(median(polls.doctor))} ms, max ${Math.round(Math.max(...polls.doctor))} ms`);
  const ok = Math.max(...allExec) <= EXEC_P95_BOUND && Math.max(...polls.list, ...polls.doctor) <= POLL_BOUND;
  console.log(`  ${ok ? "OK" : "OVER BOUND"}: exec p95 bound ${EXEC_P95_BOUND} ms, list/doctor bound ${POLL_BOUND} ms`);
  console.log(`JSON ${JSON.stringify({ n: N, mem_mib: MEM, backend, create_all_ms: Math.round(createAll), create_ms: { median: Math.round(median(createMs)), p95: Math.round(p95(createMs)) }, rounds, delete_all_ms: Math.round(deleteAll), list_ms: polls.list.map(Math.round), doctor_ms: polls.doctor.map(Math.round) })}`);
  if (!ok) failed = true;
} finally {
  polling = false;
  // Every workspace of the state dir, also those a failed create left behind.
  const all = await pyro.listWorkspaces({}).then((l) => l.workspaces.map((w) => w.workspace_id), () => ids);
  for (const id of new Set([...ids, ...all])) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
  await pyro.close();
  rmSync(stateDir, { recursive: true, force: true });
}
if (failed) process.exit(1);
