// Shared helpers for the benchmark scripts: timing, medians, a results table.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** Median of a list of numbers. */
/**
 * The argv prefix that runs the `pyro` bin at `entry` as a user's shell does:
 * a `#!/bin/sh` bin (the startup-snapshot launcher, docs/architecture.md
 * "Build") directly, a Node script with this Node.
 */
export function pyroBin(entry) {
  return readFileSync(entry, "utf8").startsWith("#!/bin/sh") ? [entry] : [process.execPath, entry];
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Time an async function `runs` times after `warmup` untimed runs; returns
 * milliseconds. `pauseMs` idles (untimed) before each run, as a caller that
 * does other work between calls would.
 */
export async function timeAsync(fn, { runs = 20, warmup = 2, pauseMs = 0 } = {}) {
  for (let i = 0; i < warmup; i += 1) await fn();
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Time a command line (spawned, waited for); throws when it fails. */
export function timeCommand(argv, { runs = 20, warmup = 2, env = process.env } = {}) {
  const once = () => {
    const result = spawnSync(argv[0], argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
    if (result.status !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr}`);
  };
  for (let i = 0; i < warmup; i += 1) once();
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    once();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Print rows of `{ name, samples }` as medians, with the ratio of each pair. */
export function report(title, rows, pairs = []) {
  process.stdout.write(`\n${title}\n`);
  for (const row of rows) {
    process.stdout.write(`  ${row.name.padEnd(58)} median ${median(row.samples).toFixed(1).padStart(8)} ms  (n=${row.samples.length})\n`);
  }
  for (const [ours, limit, target] of pairs) {
    const a = rows.find((r) => r.name === ours);
    const b = rows.find((r) => r.name === limit);
    const ratio = median(a.samples) / median(b.samples);
    process.stdout.write(`  ratio ${ours} / ${limit}: ${ratio.toFixed(2)}x${target ? ` (target ≤ ${target}x)` : ""}\n`);
  }
}
