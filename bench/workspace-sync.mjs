// Issue 6's benchmark, in one run: workspace sync push and export of a 200 MB tree
// of many small files against `tar -c | tar -x` between the same directories, and a
// warm `workspace exec true` round trip against a local spawn of `true`.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pyro } from "../dist/index.js";
import { median, report, timeAsync, timeCommand } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const backend = process.env.BENCH_BACKEND ?? "sandbox";
const runs = Number(process.env.BENCH_RUNS ?? 3);
const totalBytes = Number(process.env.BENCH_TREE_BYTES ?? 200 * 1024 * 1024);
const fileBytes = 16 * 1024;

const root = mkdtempSync(join(tmpdir(), "pyro-bench-sync-"));
const tree = join(root, "tree");
for (let i = 0; i * fileBytes < totalBytes; i += 1) {
  const dir = join(tree, `d${Math.floor(i / 500)}`);
  if (i % 500 === 0) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `f${i}.txt`), Buffer.alloc(fileBytes, 97 + (i % 26)));
}
const files = Math.ceil(totalBytes / fileBytes);

const stateDir = join(root, "state");
const pyro = new Pyro({ stateDir, cacheDir });
const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true });

async function timed(fn) {
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

const tarTarget = join(root, "tar-target");
const tarPipe = () => {
  rmSync(tarTarget, { recursive: true, force: true });
  mkdirSync(tarTarget);
  const result = spawnSync("sh", ["-c", `tar -C "${tree}" -cf - . | tar -C "${tarTarget}" -xf -`]);
  if (result.status !== 0) throw new Error(`tar pipe failed: ${result.stderr}`);
};
const rows = [
  { name: `tar -c | tar -x of the tree (${files} files)`, samples: await timed(tarPipe) },
  {
    name: `workspace sync push (${backend})`,
    samples: await timed((i) => pyro.pushWorkspaceSync({ workspace_id, source_path: tree, dest: `sync-${i}` })),
  },
  {
    name: `workspace export (${backend})`,
    samples: await timed((i) => pyro.exportWorkspace({ workspace_id, path: "sync-0", output_path: join(root, `export-${i}`) })),
  },
];
const mbps = (row) => ((totalBytes / (1024 * 1024)) / (median(row.samples) / 1000)).toFixed(0);
report("workspace sync and export, 200 MB of small files", rows);
for (const row of rows) process.stdout.write(`  ${row.name.padEnd(58)} ${mbps(row).padStart(6)} MB/s\n`);
const tarMs = median(rows[0].samples);
process.stdout.write(`  throughput ratio sync / tar pipe: ${(tarMs / median(rows[1].samples)).toFixed(2)}x (target ≥ 0.7x)\n`);
process.stdout.write(`  throughput ratio export / tar pipe: ${(tarMs / median(rows[2].samples)).toFixed(2)}x (target ≥ 0.7x)\n`);

const execRows = [
  { name: "spawn `true` locally", samples: timeCommand(["true"], { runs: 20 }) },
  { name: `warm workspace exec true (${backend}, in-process)`, samples: await timeAsync(() => pyro.execWorkspace({ workspace_id, command: "true" }), { runs: 20 }) },
];
report("warm exec round trip", execRows, [[execRows[1].name, execRows[0].name]]);

await pyro.deleteWorkspace({ workspace_id });
rmSync(root, { recursive: true, force: true });
