/**
 * Environment benchmark: local build time and sizes per environment, one full
 * pull from a loopback docker-registry, then the layer download alone repeated
 * (BENCH_PULL_RUNS, default 5) interleaved with curl of the same blob; prints
 * medians. The download comparison runs in a small process of its own
 * (pull-compare.ts); there our download is timed as a pull runs it, in a fresh
 * process after the manifest and config requests (pull-download.ts).
 * Run through bench/env-build.sh (it compiles this file first).
 * Usage: env-bench.js [ENV...]   (default: every catalog environment)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CATALOG, pullEnvironment } from "../src/environments/index.js";
import { pushEnvironment } from "../src/environments/oci/push.js";
import { parseReference } from "../src/environments/oci/reference.js";
import { startRegistry } from "../test/helpers/registry.js";

const MIB = 1024 * 1024;
const PULL_RUNS = Number(process.env.BENCH_PULL_RUNS ?? "5");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Download samples from pull-compare.ts: seconds per run, and the sha256 of the blob alone. */
interface PullComparison {
  samples: Record<"pyro" | "transfer" | "inProcess" | "curlFile" | "curlNull" | "curlHash" | "curlOpenssl", number[]>;
  hashSeconds: number;
}

/**
 * Run the interleaved download comparison in a small process of its own: this
 * one holds the heap of a build and a pull, and its threads and the cost of
 * forking it would land in the timed downloads (seen as runs 2-3x slower).
 */
function comparePulls(reference: string, digest: string, size: number, url: string, target: string): PullComparison {
  const script = join(dirname(fileURLToPath(import.meta.url)), "pull-compare.js");
  const output = execFileSync(process.execPath, [script, reference, digest, String(size), url, target, String(PULL_RUNS)], { stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(output.toString()) as PullComparison;
}

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : CATALOG.map((e) => e.name);
const registry = await startRegistry();
const rows: string[] = [];
try {
  for (const name of names) {
    const buildCache = mkdtempSync(join(tmpdir(), "pyro-bench-build-"));
    const pullCache = mkdtempSync(join(tmpdir(), "pyro-bench-pull-"));
    try {
      const built = await pullEnvironment(name, { cacheDir: buildCache, source: "local" });
      const ref = parseReference(`${registry.host}/pyro/${name}`);
      const pushStart = Date.now();
      const pushed = await pushEnvironment(name, { cacheDir: buildCache, target: ref });
      const pushMs = Date.now() - pushStart;
      const pulled = await pullEnvironment(name, { cacheDir: pullCache, registryOverride: registry.host });
      // The download alone, repeated and interleaved with curl so machine noise hits both alike.
      // Every file lands in the pull cache's directory: storing a blob costs the same filesystem for both.
      const url = `http://${registry.host}/v2/${ref.repository}/blobs/${pushed.layer_digest}`;
      const target = join(pullCache, "layer.bench");
      // Flush the build's and the pull's dirty pages first, so their writeback does not land in the timed runs.
      execFileSync("sync");
      const { samples, hashSeconds } = comparePulls(`${registry.host}/${ref.repository}:${ref.reference}`, pushed.layer_digest, pushed.layer_size_bytes, url, target);
      const ms = (seconds: number[]) => seconds.map((x) => Math.round(x * 1000)).join(",");
      console.error(`${name} download runs (ms): pyro ${ms(samples.pyro)} | pyro without the sha256 ${ms(samples.transfer)} | in the bench process ${ms(samples.inProcess)} | curl -o file ${ms(samples.curlFile)}`);
      const mibS = (seconds: number[]) => pushed.layer_size_bytes / MIB / median(seconds);
      rows.push(
        [
          name.padEnd(16),
          `build ${(built.duration_ms / 1000).toFixed(1)} s`,
          `rootfs ${((built.sizes.rootfs_bytes ?? 0) / MIB).toFixed(0)} MiB`,
          `image ${((built.sizes.root_image_bytes ?? 0) / MIB).toFixed(0)} MiB (${((built.sizes.root_image_disk_bytes ?? 0) / MIB).toFixed(0)} MiB on disk)`,
          `layer ${(pushed.layer_size_bytes / MIB).toFixed(0)} MiB`,
          `push ${(pushMs / 1000).toFixed(1)} s`,
          `pull ${(pulled.duration_ms / 1000).toFixed(1)} s`,
          `download medians of ${PULL_RUNS}: pyro ${mibS(samples.pyro).toFixed(0)} MiB/s (verified, stored; fresh process as a pull)` +
            ` (${mibS(samples.inProcess).toFixed(0)} in the bench process)` +
            `, curl -o file ${mibS(samples.curlFile).toFixed(0)}, curl -o /dev/null ${mibS(samples.curlNull).toFixed(0)}` +
            `, curl|sha256sum ${mibS(samples.curlHash).toFixed(0)}, curl -o file then openssl dgst ${mibS(samples.curlOpenssl).toFixed(0)} MiB/s` +
            `; pyro/curl-o-file ${(median(samples.curlFile) / median(samples.pyro)).toFixed(2)} (target >= 0.8)` +
            `; pyro without the sha256 ${mibS(samples.transfer).toFixed(0)} MiB/s, /curl-o-file ${(median(samples.curlFile) / median(samples.transfer)).toFixed(2)}` +
            `; sha256 alone ${Math.round(hashSeconds * 1000)} ms (${(pushed.layer_size_bytes / MIB / hashSeconds).toFixed(0)} MiB/s)` +
            `; pyro/(curl then openssl) ${(median(samples.curlOpenssl) / median(samples.pyro)).toFixed(2)}`,
          `same tree ${pulled.digests.rootfs_tree === built.digests.rootfs_tree}`,
        ].join(" | "),
      );
      console.error(rows[rows.length - 1]);
    } finally {
      rmSync(buildCache, { recursive: true, force: true });
      rmSync(pullCache, { recursive: true, force: true });
    }
  }
} finally {
  await registry.stop();
}
console.log(rows.join("\n"));
