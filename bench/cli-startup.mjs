// Issue 17's `pyro run` from the pool as a whole process, and where its time
// goes, side by side in one run (rows interleaved, so load hits each alike):
// - `node -e 0` (Node's own floor) and `pyro --version` (Node + loading the CLI, no VM; the bin run as
//   a command, so from the CLI's startup snapshot when dist/ has a valid one: docs/architecture.md, "Build");
// - `pyro run debian:12 -- true` taking a pooled machine, whole process;
// - Pyro.runInVm taking a pooled machine, in-process (no CLI load);
// - an exec round trip in a running VM (one session).
// BENCH_BASELINE_CLI=path/to/cli.js adds `--version` and `pyro run` rows of
// another build (e.g. the previous bundle) to the same run. Each row starts
// once every pool is refilled and warm (a warm-up runs a guest for seconds).
// Run after `npm run build`; uses the environment cache (default the tests').
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pyro } from "../dist/index.js";
import { AgentClient } from "../dist/agent-client/index.js";
import { ensureEnvironment } from "../dist/environments/index.js";
import { QemuBackend } from "../dist/runtime/qemu/index.js";
import { median, pyroBin, report, timeCommand } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const runs = Number(process.env.BENCH_RUNS ?? 15);
const baseline = process.env.BENCH_BASELINE_CLI;
const environment = await ensureEnvironment("debian:12", { cacheDir, onProgress: (l) => process.stderr.write(`${l}\n`) });
const cli = new URL("../dist/cli.js", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "pyro-cs-"));
const poolEnv = { ...process.env, PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "1", PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
const stateOf = (name) => join(root, name);

const runArgv = (entry) => [...pyroBin(entry), "run", "--vcpu-count", "2", "--mem-mib", "512", "debian:12", "--", "true"];
const poolLines = (l) => (l.startsWith("[pool]") ? process.stderr.write(`${l}\n`) : undefined);
const pools = { sdk: new Pyro({ stateDir: stateOf("sdk"), cacheDir, env: poolEnv, onProgress: poolLines }), cli: new Pyro({ stateDir: stateOf("cli"), cacheDir, env: poolEnv }) };
if (baseline) pools.baseline = new Pyro({ stateDir: stateOf("baseline"), cacheDir, env: poolEnv });

/** Wait (untimed: a caller's think time) until `on`'s pool holds a ready machine. */
async function ready(on) {
  let status;
  for (let i = 0; i < 6000; i++) {
    status = await on.statusPool();
    if (status.machines.some((m) => m.state === "ready")) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the pool never became ready: ${JSON.stringify(status)}`);
}
const runInVm = async () => {
  const started = performance.now();
  await pools.sdk.runInVm({ environment: "debian:12", command: "true", vcpu_count: 2, mem_mib: 512 });
  return performance.now() - started;
};
const cliRun = (entry, pool) => timeCommand(runArgv(entry), { runs: 1, warmup: 0, env: { ...poolEnv, PYRO_STATE_DIR: stateOf(pool) } })[0];

const backend = new QemuBackend({ env: process.env, kernel: environment.kernel });
const spec = { id: "cs-exec", dir: join(root, "exec"), environment, vcpuCount: 2, memMib: 512, network: "off", publishedPorts: [], hostname: "cs-exec" };
const handle = await backend.start(spec, { bootTimeoutMs: 300_000 });
try {
  const client = await AgentClient.connect(await backend.connect(spec, handle), { helloTimeoutMs: 30_000 });
  const rows = [
    { name: "node -e 0", samples: [], run: () => timeCommand([process.execPath, "-e", "0"], { runs: 1, warmup: 0 })[0] },
    { name: "pyro --version (dist/cli.js)", samples: [], run: () => timeCommand([...pyroBin(cli), "--version"], { runs: 1, warmup: 0 })[0] },
    ...(baseline ? [{ name: "baseline pyro --version", samples: [], run: () => timeCommand([...pyroBin(baseline), "--version"], { runs: 1, warmup: 0 })[0] }] : []),
    { name: "exec `true` in a running VM (one session)", samples: [], run: async () => {
      const started = performance.now();
      await client.exec({ argv: ["true"] }, { maxBufferedBytes: 1024 });
      return performance.now() - started;
    } },
    { name: "Pyro.runInVm `true` from the pool (in-process)", samples: [], run: async () => (await ready(pools.sdk), runInVm()) },
    { name: "pyro run debian:12 -- true from the pool (whole process)", samples: [], run: async () => (await ready(pools.cli), cliRun(cli, "cli")) },
    ...(baseline ? [{ name: "baseline pyro run from the pool (whole process)", samples: [], run: async () => (await ready(pools.baseline), cliRun(baseline, "baseline")) }] : []),
  ];
  // Warm-up: fills each pool, writes the CLI's code cache, warms the page cache.
  await runInVm();
  cliRun(cli, "cli");
  if (baseline) cliRun(baseline, "baseline");
  for (const row of rows) await row.run();
  const load = [loadavg()[0]];
  // Every row starts once every pool holds a ready machine (untimed): a refill's restore and warm-up
  // run a guest for a few seconds, which would otherwise land on whichever rows come next.
  const quiet = async () => {
    for (const pool of Object.values(pools)) await ready(pool);
  };
  for (let i = 0; i < runs; i++) {
    for (const row of rows) {
      await quiet();
      row.samples.push(await row.run());
    }
    load.push(loadavg()[0]);
  }
  report(`CLI start and pool (debian:12, 2 vCPUs, 512 MiB; ${runs} runs each, interleaved; load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)})`, rows, [
    [rows.find((r) => r.name.startsWith("Pyro.runInVm")).name, rows.find((r) => r.name.startsWith("exec")).name, 3],
  ]);
  const m = (prefix) => median(rows.find((r) => r.name.startsWith(prefix)).samples);
  process.stdout.write(`  pyro run from the pool: ${m("pyro run").toFixed(0)} ms (target ≤ 250) = node floor ${m("node -e 0").toFixed(0)} + CLI load ${(m("pyro --version") - m("node -e 0")).toFixed(0)} + the rest ${(m("pyro run") - m("pyro --version")).toFixed(0)} (in-process runInVm ${m("Pyro.runInVm").toFixed(0)})\n`);
  await client.close();
} finally {
  await backend.kill(handle);
  await backend.cleanup(spec);
  for (const pool of Object.values(pools)) {
    await pool.drainPool().catch(() => undefined);
    await pool.close();
  }
  rmSync(root, { recursive: true, force: true });
}
