// Issue 4's benchmark, in one run, side by side:
// - a bare qemu-system-x86_64 boot of the same kernel and initramfs to a trivial
//   init that powers off (`pyro.probe`: mount /proc, print, `poweroff -f`), on
//   microvm and on q35, against the qemu backend's cold start (boot snapshots
//   off) → hello → exec `true` → shutdown → cleanup, on both machine types;
// - `pyro run debian:12 -- true` as a whole process, and Pyro.runInVm in-process,
//   on the same machine size (issue 4's target: at most 20% over the bare boot),
//   each resuming the boot snapshot (the default; the warm-up run saves it) and
//   cold (PYRO_QEMU_SNAPSHOTS=0);
// - an exec round trip in a running VM (one session; and a fresh connection
//   + hello per call) against a local spawn of `true`.
// - issue 17's pool: Pyro.runInVm and `pyro run` (whole process) taking a
//   pooled machine, beside the exec round trip in a running VM, interleaved;
//   and the RSS and CPU time over 10 idle seconds of a pooled machine.
//   `BENCH_ONLY=pool` runs only that section.
// Runs under KVM where a standard guest boots there, else TCG (see docs/qemu.md).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pyro } from "../dist/index.js";
import { AgentClient } from "../dist/agent-client/index.js";
import { ensureEnvironment } from "../dist/environments/index.js";
import { QemuBackend, hostTscKhz } from "../dist/runtime/qemu/index.js";
import { median, pyroBin, report, timeAsync, timeCommand } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const bootRuns = Number(process.env.BENCH_BOOT_RUNS ?? 5);
const execRuns = Number(process.env.BENCH_RUNS ?? 20);
const environment = await ensureEnvironment("debian:12-base", { cacheDir, onProgress: (l) => process.stderr.write(`${l}\n`) });
const kernel = environment.kernel;
await ensureEnvironment("debian:12", { cacheDir, onProgress: (l) => process.stderr.write(`${l}\n`) });
const cli = new URL("../dist/cli.js", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "pyro-qb-"));
const env = { ...process.env, PYRO_STATE_DIR: join(root, "state") };
const accel = (await new QemuBackend({ env, kernel }).availability()).details.accel;
const khz = hostTscKhz();
/** Machines still running, killed by pid in `finally` if the bench fails midway. */
const live = new Set();

/** One bare boot of the same kernel + initramfs to `pyro.probe` (mount /proc, print, poweroff -f); ms. */
function bareBoot(machine) {
  const m = machine === "microvm" ? "microvm,acpi=on,pit=on,pic=on,rtc=on" : "q35";
  const cmdline = ["console=ttyS0", "quiet", "panic=-1", "reboot=t", "pyro.probe", ...(khz ? [`tsc_early_khz=${khz}`] : []), ...(machine === "microvm" ? ["pci=off"] : [])];
  const argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-machine", m,
    "-accel", accel === "kvm" ? "kvm" : "tcg,thread=multi", "-cpu", accel === "kvm" ? "host" : "max", "-smp", "2", "-m", "512M",
    "-kernel", kernel.vmlinuz, "-initrd", kernel.initramfs, "-append", cmdline.join(" "), "-serial", "null"];
  return timeCommand(argv, { runs: 1, warmup: 0 })[0];
}

function spec(name, extra = {}) {
  return { id: name, dir: join(root, name), environment, vcpuCount: 2, memMib: 512, network: "off", publishedPorts: [], hostname: name, ...extra };
}

async function shutdown(backend, s, handle) {
  const client = await AgentClient.connect(await backend.connect(s, handle), { helloTimeoutMs: 30_000 });
  await new Promise((resolve) => client.open("shutdown", { action: "poweroff" }, { onFinal: resolve, onFail: resolve }));
  await client.close();
  await backend.stop(s, handle, 30_000);
}

let bootCount = 0;
/** One backend start → hello → exec `true` → agent shutdown → stop → cleanup; ms. */
async function oursBoot(machine) {
  const backend = new QemuBackend({ env, machine, kernel, snapshots: false });
  const started = performance.now();
  const s = spec(`${machine}-${bootCount++}`);
  const handle = await backend.start(s, { bootTimeoutMs: 300_000 });
  live.add(handle);
  const client = await AgentClient.connect(await backend.connect(s, handle), { helloTimeoutMs: 30_000 });
  const r = await client.exec({ argv: ["true"] }, { maxBufferedBytes: 1024 });
  if (r.exit_code !== 0) throw new Error("exec true failed");
  await client.close();
  await shutdown(backend, s, handle);
  live.delete(handle);
  await backend.cleanup(s);
  return performance.now() - started;
}

// The boot rows measure a start: no pool (the pool section measures it).
const pyro = new Pyro({ stateDir: join(root, "pyro-state"), cacheDir, env: { ...process.env, PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "0" } });
const pyroCold = new Pyro({ stateDir: join(root, "pyro-state"), cacheDir, env: { ...process.env, PYRO_BACKEND: "qemu", PYRO_QEMU_SNAPSHOTS: "0", PYRO_POOL_SIZE: "0" } });
const pyroEnv = { ...process.env, PYRO_STATE_DIR: join(root, "cli-state"), PYRO_ENVIRONMENT_CACHE_DIR: cacheDir, PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "0" };
const runArgv = [...pyroBin(cli), "run", "--vcpu-count", "2", "--mem-mib", "512", "debian:12", "--", "true"];

/** One in-process Pyro.runInVm of `true`; ms. */
async function runInVm(client) {
  const started = performance.now();
  await client.runInVm({ environment: "debian:12", command: "true", vcpu_count: 2, mem_mib: 512 });
  return performance.now() - started;
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command); in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The pool section (issue 17): runInVm and `pyro run` from the pool beside the exec round trip; a pooled machine's RSS and idle CPU. */
async function poolSection() {
  const poolEnv = { ...process.env, PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "1", PYRO_ENVIRONMENT_CACHE_DIR: cacheDir };
  const inProcess = new Pyro({ stateDir: join(root, "pool-sdk"), cacheDir, env: poolEnv, onProgress: (l) => (l.startsWith("[pool]") ? process.stderr.write(`${l}\n`) : undefined) });
  const cliEnv = { ...poolEnv, PYRO_STATE_DIR: join(root, "pool-cli") };
  const cliPool = new Pyro({ stateDir: join(root, "pool-cli"), cacheDir, env: cliEnv });
  const argv = [...pyroBin(cli), "run", "--vcpu-count", "2", "--mem-mib", "512", "debian:12", "--", "true"];
  /** Wait until `on`'s pool holds a ready machine (not timed: a caller's think time between two runs). */
  const ready = async (on) => {
    for (let i = 0; i < 2400; i++) {
      const status = await on.statusPool();
      if (status.machines.some((m) => m.state === "ready")) return status.machines.find((m) => m.state === "ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the pool never became ready");
  };
  // Each row starts once both pools are refilled and warm: a refill (a restore and warm-up) must not run beside a timed row.
  const bothReady = async () => {
    await ready(inProcess);
    await ready(cliPool);
  };
  const backend = new QemuBackend({ env, kernel });
  const s = spec("pool-exec");
  const handle = await backend.start(s, { bootTimeoutMs: 300_000 });
  live.add(handle);
  const client = await AgentClient.connect(await backend.connect(s, handle), { helloTimeoutMs: 30_000 });
  const rows = [
    { name: "exec `true` in a running VM (one session)", samples: [], run: async () => {
      await bothReady();
      const started = performance.now();
      await client.exec({ argv: ["true"] }, { maxBufferedBytes: 1024 });
      return performance.now() - started;
    } },
    { name: `Pyro.runInVm debian:12 \`true\` from the pool (${accel})`, samples: [], run: async () => {
      await bothReady();
      return runInVm(inProcess);
    } },
    { name: `pyro run debian:12 -- true from the pool, whole process (${accel})`, samples: [], run: async () => {
      await bothReady();
      return timeCommand(argv, { runs: 1, warmup: 0, env: cliEnv })[0];
    } },
  ];
  // Warm-up: the first run of each fills its pool.
  await runInVm(inProcess);
  timeCommand(argv, { runs: 1, warmup: 0, env: cliEnv });
  for (let i = 0; i < execRuns; i++) for (const row of rows) row.samples.push(await row.run());
  report(`pool (debian:12, 2 vCPUs, 512 MiB; ${execRuns} runs each, interleaved)`, rows, [
    [rows[1].name, rows[0].name, 3],
    [rows[2].name, rows[0].name],
  ]);
  process.stdout.write(`  target: pyro run from the pool ≤ 250 ms median; measured ${median(rows[2].samples).toFixed(1)} ms\n`);
  const pooled = await ready(inProcess);
  const before = cpuMs(pooled.pid);
  await new Promise((r) => setTimeout(r, 10_000));
  const idle = cpuMs(pooled.pid) - before;
  const rss = (await inProcess.statusPool()).machines.find((m) => m.pool_id === pooled.pool_id)?.rss_bytes ?? 0;
  process.stdout.write(`  pooled machine: RSS ${(rss / 2 ** 20).toFixed(1)} MiB, CPU time over 10 idle s ${idle} ms (target < 10 ms; 10 ms ticks)\n`);
  await client.close();
  await shutdown(backend, s, handle);
  live.delete(handle);
  await backend.cleanup(s);
  await inProcess.drainPool();
  await cliPool.drainPool();
  await inProcess.close();
  await cliPool.close();
}

/** Issue 4's rows: boots and the exec round trip. */
async function bootSection() {
  // Interleaved, so that load on a shared machine hits every row alike.
  const rows = [
    { name: `bare qemu microvm boot → poweroff (${accel})`, samples: [], run: () => bareBoot("microvm") },
    { name: `bare qemu q35 boot → poweroff (${accel})`, samples: [], run: () => bareBoot("q35") },
    { name: `ours microvm start→hello→exec true→shutdown (${accel})`, samples: [], run: () => oursBoot("microvm") },
    { name: `ours q35 start→hello→exec true→shutdown (${accel})`, samples: [], run: () => oursBoot("q35") },
    { name: `Pyro.runInVm debian:12 \`true\`, snapshot resumed (${accel})`, samples: [], run: () => runInVm(pyro) },
    { name: `pyro run debian:12 -- true, snapshot resumed (${accel})`, samples: [], run: () => timeCommand(runArgv, { runs: 1, warmup: 0, env: pyroEnv })[0] },
    { name: `Pyro.runInVm debian:12 \`true\`, cold boot (${accel})`, samples: [], run: () => runInVm(pyroCold) },
    {
      name: `pyro run debian:12 -- true, cold boot (${accel})`,
      samples: [],
      run: () => timeCommand(runArgv, { runs: 1, warmup: 0, env: { ...pyroEnv, PYRO_QEMU_SNAPSHOTS: "0" } })[0],
    },
  ];
  for (const row of rows) await row.run(); // warm-up: page cache, KVM probe
  for (let i = 0; i < bootRuns; i++) for (const row of rows) row.samples.push(await row.run());
  report(`QEMU boot (debian:12-base, 2 vCPUs, 512 MiB; ${bootRuns} runs each)`, rows, [
    [rows[2].name, rows[0].name],
    [rows[3].name, rows[1].name],
    [rows[4].name, rows[0].name, 1.2],
    [rows[5].name, rows[0].name, 1.2],
    [rows[6].name, rows[0].name],
    [rows[7].name, rows[0].name],
  ]);

  const backend = new QemuBackend({ env, kernel });
  const s = spec("exec");
  const handle = await backend.start(s, { bootTimeoutMs: 300_000 });
  live.add(handle);
  const client = await AgentClient.connect(await backend.connect(s, handle), { helloTimeoutMs: 30_000 });
  const execRows = [
    { name: "local spawn of `true`", samples: timeCommand(["true"], { runs: execRuns }) },
    { name: "exec `true` in a running VM (one session)", samples: await timeAsync(() => client.exec({ argv: ["true"] }, { maxBufferedBytes: 1024 }), { runs: execRuns }) },
    {
      name: "connect + hello + exec `true` (fresh session per call)",
      samples: await timeAsync(async () => {
        const c = await AgentClient.connect(await backend.connect(s, handle), { helloTimeoutMs: 30_000 });
        await c.exec({ argv: ["true"] }, { maxBufferedBytes: 1024 });
        await c.close();
      }, { runs: execRuns }),
    },
  ];
  await client.close();
  report(`exec round trip (${accel}; ${execRuns} runs)`, execRows, [[execRows[1].name, execRows[0].name]]);
  await shutdown(backend, s, handle);
  live.delete(handle);
  await backend.cleanup(s);
}

try {
  if (process.env.BENCH_ONLY !== "pool") await bootSection();
  await poolSection();
} finally {
  const killer = new QemuBackend({ env });
  for (const handle of live) await killer.kill(handle);
  // Pooled machines of this run's state dirs.
  for (const dir of ["pool-sdk", "pool-cli"]) await new Pyro({ stateDir: join(root, dir), cacheDir, env: { ...process.env, PYRO_POOL_SIZE: "0" } }).drainPool().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
}
