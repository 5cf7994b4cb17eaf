// Scale (issue 19): SCALE_N workspaces (default 20) of SCALE_MEM_MIB (default
// 256) on SCALE_BACKEND (default qemu) at once on this host: all created
// concurrently, then SCALE_ROUNDS rounds (default 5) of one exec in every
// workspace in parallel, then all deleted. Meanwhile a poller times `doctor`
// and `workspace list` (through the CLI, as another process would) every 2 s.
// Creates queue for boot slots (PYRO_BOOT_SLOTS, default one per CPU): the
// script reports how long each waited for its slot and how long its boot took
// once it had one. Reports create time, per-exec median and p95, the pollers'
// latency, the load average, writes the figures to bench/results/, and fails
// (exit 1) when a call fails or an exec round's p95 passes SCALE_EXEC_P95_MS
// (default 10000 ms), or a list/doctor call passes 10 s.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Pyro } from "../dist/index.js";
import { ensureEnvironment } from "../dist/environments/index.js";
import { median } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const N = Number(process.env.SCALE_N ?? 20);
const MEM = Number(process.env.SCALE_MEM_MIB ?? 256);
const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 5);
const backend = process.env.SCALE_BACKEND ?? "qemu";
const EXEC_P95_BOUND = Number(process.env.SCALE_EXEC_P95_MS ?? 10_000);
const POLL_BOUND = 10_000;
const cli = new URL("../dist/cli.js", import.meta.url).pathname;

await ensureEnvironment("debian:12", { cacheDir, kernel: backend !== "sandbox" });
const stateDir = mkdtempSync(join(tmpdir(), "pyro-scale-"));
const env = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
const pyro = new Pyro({ stateDir, cacheDir, warmSpares: false });
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const stats = (xs) => ({ median: Math.round(median(xs)), p95: Math.round(p95(xs)), max: Math.round(Math.max(...xs)) });
const load = () => Number(loadavg()[0].toFixed(1));
const loads = [];
const loadSampler = setInterval(() => loads.push(load()), 5000);

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
// A failed poll is a failure of the run, reported at the end (not an unhandled rejection that stops the script midway).
let pollError = null;
poller.catch((error) => {
  pollError = error;
  polling = false;
});

const ids = [];
let failed = false;
try {
  const loadAtStart = load();
  const t0 = performance.now();
  const createMs = [];
  const slotWaitMs = [];
  const bootMs = [];
  const creates = await Promise.allSettled(
    Array.from({ length: N }, async () => {
      const t = performance.now();
      let slotAt = t;
      const onProgress = (line) => {
        // The slot was granted (after a wait) or the boot began at once: the boot's own clock starts here.
        if (/phase=boot-slot /.test(line)) slotAt = performance.now();
        if (/phase=ready/.test(line)) bootMs.push(performance.now() - slotAt);
      };
      const ws = await pyro.call("createWorkspace", { environment: "debian:12", backend, allow_host_compat: true, mem_mib: MEM, vcpu_count: 1 }, { onProgress });
      ids.push(ws.workspace_id); // at once: a failure of another create must not leak this one
      createMs.push(performance.now() - t);
      slotWaitMs.push(slotAt - t);
      return ws.workspace_id;
    }),
  );
  const failures = creates.filter((c) => c.status === "rejected").map((c) => c.reason?.message ?? String(c.reason));
  if (failures.length > 0) {
    console.log(`${failures.length} of ${N} concurrent creates failed (load ${load()}):`);
    for (const f of failures) console.log(`  - ${f.split("\n").slice(0, 3).join(" | ")}`);
    throw new Error(`${failures.length} of ${N} creates failed`);
  }
  const createAll = performance.now() - t0;
  const rounds = [];
  const allExecMs = [];
  const loadAfterCreate = load();
  for (let round = 1; round <= ROUNDS; round += 1) {
    const execMs = await Promise.all(
      ids.map(async (id, i) => {
        const t = performance.now();
        const r = await pyro.execWorkspace({ workspace_id: id, command: `echo ${round}-${i} && cat /proc/meminfo | head -1` });
        if (r.exit_code !== 0 || !r.stdout.startsWith(`${round}-${i}`)) throw new Error(`exec in ${id}: ${JSON.stringify(r)}`);
        return performance.now() - t;
      }),
    );
    rounds.push({ ...stats(execMs), load: load() });
    allExecMs.push(...execMs);
  }
  const tDel = performance.now();
  await Promise.all(ids.map((id) => pyro.deleteWorkspace({ workspace_id: id })));
  const deleteAll = performance.now() - tDel;
  ids.length = 0;
  polling = false;
  await poller;
  const allExec = rounds.map((r) => r.p95);
  const result = {
    date: new Date().toISOString(),
    n: N,
    mem_mib: MEM,
    backend,
    cpus: cpus().length,
    boot_slots: pyro.config.bootSlots,
    pool_size: pyro.config.pool.size,
    load: { at_start: loadAtStart, after_creates: loadAfterCreate, max: Math.max(...loads, load()), median: Number(median(loads.length ? loads : [load()]).toFixed(1)) },
    create_all_ms: Math.round(createAll),
    create_ms: stats(createMs),
    slot_wait_ms: stats(slotWaitMs),
    boot_in_slot_ms: bootMs.length ? stats(bootMs) : null,
    exec_rounds: rounds,
    exec_ms: stats(allExecMs),
    delete_all_ms: Math.round(deleteAll),
    list_ms: stats(polls.list),
    doctor_ms: stats(polls.doctor),
    polls: polls.list.length,
  };
  const ok = !pollError && Math.max(...allExec) <= EXEC_P95_BOUND && Math.max(...polls.list, ...polls.doctor) <= POLL_BOUND;
  result.ok = ok;
  console.log(`${N} ${backend} workspaces of ${MEM} MiB, 1 vCPU, at once on ${result.cpus} cores, ${result.boot_slots} boot slots, pool size ${result.pool_size}`);
  console.log(`  load average: ${loadAtStart} at start, ${loadAfterCreate} after the creates, median ${result.load.median}, max ${result.load.max}`);
  console.log(`  create all (concurrent): ${(createAll / 1000).toFixed(1)} s; per workspace median ${(result.create_ms.median / 1000).toFixed(1)} s, p95 ${(result.create_ms.p95 / 1000).toFixed(1)} s, max ${(result.create_ms.max / 1000).toFixed(1)} s`);
  console.log(`    of which waiting for a boot slot: median ${(result.slot_wait_ms.median / 1000).toFixed(1)} s, max ${(result.slot_wait_ms.max / 1000).toFixed(1)} s; boot once in a slot: ${bootMs.length ? `median ${(result.boot_in_slot_ms.median / 1000).toFixed(1)} s, max ${(result.boot_in_slot_ms.max / 1000).toFixed(1)} s` : "n/a"}`);
  for (const [i, r] of rounds.entries()) console.log(`  exec round ${i + 1} (${N} in parallel): median ${r.median} ms, p95 ${r.p95} ms, max ${r.max} ms (load ${r.load})`);
  console.log(`  every exec: median ${result.exec_ms.median} ms, p95 ${result.exec_ms.p95} ms, max ${result.exec_ms.max} ms`);
  console.log(`  delete all (concurrent): ${(deleteAll / 1000).toFixed(1)} s`);
  console.log(`  meanwhile (${polls.list.length} rounds): workspace list median ${result.list_ms.median} ms, p95 ${result.list_ms.p95} ms, max ${result.list_ms.max} ms; doctor median ${result.doctor_ms.median} ms, p95 ${result.doctor_ms.p95} ms, max ${result.doctor_ms.max} ms`);
  if (pollError) console.log(`  a poll failed: ${pollError.message}`);
  console.log(`  ${ok ? "OK" : "OVER BOUND"}: exec p95 bound ${EXEC_P95_BOUND} ms, list/doctor bound ${POLL_BOUND} ms`);
  console.log(`JSON ${JSON.stringify(result)}`);
  const resultsDir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `scale-${backend}-${N}-${result.date.slice(0, 10)}-${result.date.slice(11, 16).replace(":", "")}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (!ok) failed = true;
} catch (error) {
  failed = true;
  console.log(`FAILED: ${error?.stack ?? error}`);
} finally {
  polling = false;
  clearInterval(loadSampler);
  // The last poll may still run (and write into the state dir).
  await poller.catch(() => undefined);
  // Every workspace of the state dir, also those a failed create left behind.
  const all = await pyro.listWorkspaces({}).then((l) => l.workspaces.map((w) => w.workspace_id), () => ids);
  for (const id of new Set([...ids, ...all])) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
  // The machine the pool parked for the next caller: removing the state dir alone would leave it to its watchdog.
  await pyro.drainPool().catch(() => undefined);
  await pyro.close();
  rmSync(stateDir, { recursive: true, force: true, maxRetries: 5 });
}
if (failed) process.exit(1);
