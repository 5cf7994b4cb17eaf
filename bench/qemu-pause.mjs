// Issue 17's pause/resume figures: a qemu workspace (debian:12-base) paused
// with its memory and resumed, for a 512 MiB and a 2 GiB guest: the time of
// each, the size of the saved state, and the fork time. Each guest first
// fills 200 MiB of page cache (a file in /tmp, tmpfs) so the state holds
// more than a fresh boot. Run after `npm run build`.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pyro } from "../dist/index.js";
import { median } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizes = (process.env.BENCH_PAUSE_SIZES ?? "512,2048").split(",").map(Number);
const root = mkdtempSync(join(tmpdir(), "pyro-qp-"));
const pyro = new Pyro({ stateDir: join(root, "state"), cacheDir, env: { ...process.env, PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "0" } });
const ids = [];
try {
  for (const mem of sizes) {
    const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12-base", mem_mib: mem });
    ids.push(workspace_id);
    await pyro.execWorkspace({ workspace_id, command: "head -c 200M /dev/urandom > /tmp/fill && echo ok", timeout_seconds: 300 });
    const pause = [];
    const resume = [];
    const bytes = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const p = await pyro.pauseWorkspace({ workspace_id });
      pause.push(performance.now() - t);
      bytes.push(p.memory_bytes);
      t = performance.now();
      await pyro.resumeWorkspace({ workspace_id });
      resume.push(performance.now() - t);
    }
    let t = performance.now();
    const fork = await pyro.forkWorkspace({ workspace_id });
    const forkMs = performance.now() - t;
    ids.push(fork.workspace_id);
    process.stdout.write(
      `${mem} MiB guest (200 MiB written to tmpfs): pause median ${median(pause).toFixed(0)} ms, resume median ${median(resume).toFixed(0)} ms, ` +
        `state ${(median(bytes) / 2 ** 20).toFixed(1)} MiB, fork ${forkMs.toFixed(0)} ms (n=${runs}; load average ${loadavg()[0].toFixed(1)})\n`,
    );
  }
} finally {
  for (const id of ids) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
  await pyro.close();
  rmSync(root, { recursive: true, force: true });
}
