/**
 * Environment benchmark: local build time and sizes per environment, one full
 * pull from a loopback docker-registry, then the layer download alone repeated
 * (BENCH_PULL_RUNS, default 5) interleaved with curl of the same blob; prints
 * medians. Our download is timed as a pull runs it, in a fresh process after
 * the manifest and config requests (pull-download.ts), and in this process.
 * Run through bench/env-build.sh (it compiles this file first).
 * Usage: env-bench.js [ENV...]   (default: every catalog environment)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { CATALOG, pullEnvironment } from "../src/environments/index.js";
import { RegistryClient } from "../src/environments/oci/client.js";
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

/** Seconds curl spent on the transfer (its own clock: process start-up not counted). */
function curlSeconds(url: string, output: string): number {
  return Number(execFileSync("curl", ["-sS", "--fail", "-o", output, "-w", "%{time_total}", url]).toString());
}

/** Seconds of the layer download in a fresh process, the way a pull does it (its own clock: start-up not counted). */
function pullDownloadSeconds(reference: string, digest: string, size: number, output: string): number {
  const script = join(dirname(fileURLToPath(import.meta.url)), "pull-download.js");
  return Number(execFileSync(process.execPath, [script, reference, digest, String(size), output]).toString());
}

/**
 * The same job done by raw tools, one after the other: curl's transfer into
 * `output` (its own clock), then the wall time of `openssl dgst -sha256` over
 * the file (SHA-NI; its start-up counted, a few ms).
 */
function curlThenOpensslSeconds(url: string, output: string): number {
  const transfer = curlSeconds(url, output);
  const started = performance.now();
  execFileSync("openssl", ["dgst", "-sha256", output]);
  return transfer + (performance.now() - started) / 1000;
}

/** Wall seconds of `curl | sha256sum` (two processes, so start-up is counted). */
function curlHashSeconds(url: string): number {
  const started = performance.now();
  execFileSync("bash", ["-c", `set -o pipefail; curl -sS --fail '${url}' | sha256sum >/dev/null`]);
  return (performance.now() - started) / 1000;
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
      const client = new RegistryClient(ref);
      const target = join(pullCache, "layer.bench");
      const samples = { pyro: [] as number[], inProcess: [] as number[], curlFile: [] as number[], curlNull: [] as number[], curlHash: [] as number[], curlOpenssl: [] as number[] };
      // Flush the build's and the pull's dirty pages first, so their writeback does not land in the timed runs.
      execFileSync("sync");
      for (let run = 0; run < PULL_RUNS; run++) {
        rmSync(target, { force: true });
        samples.pyro.push(pullDownloadSeconds(`${registry.host}/${ref.repository}:${ref.reference}`, pushed.layer_digest, pushed.layer_size_bytes, target));
        rmSync(target, { force: true });
        const started = performance.now();
        await client.downloadBlob(pushed.layer_digest, pushed.layer_size_bytes, target);
        samples.inProcess.push((performance.now() - started) / 1000);
        rmSync(target, { force: true });
        samples.curlFile.push(curlSeconds(url, target));
        samples.curlNull.push(curlSeconds(url, "/dev/null"));
        samples.curlHash.push(curlHashSeconds(url));
        rmSync(target, { force: true });
        samples.curlOpenssl.push(curlThenOpensslSeconds(url, target));
      }
      rmSync(target, { force: true });
      const ms = (seconds: number[]) => seconds.map((x) => Math.round(x * 1000)).join(",");
      console.error(`${name} download runs (ms): pyro ${ms(samples.pyro)} | in the bench process ${ms(samples.inProcess)} | curl -o file ${ms(samples.curlFile)}`);
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
