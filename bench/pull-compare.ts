/**
 * The layer download compared with curl of the same blob, run by env-bench.ts
 * in a process of its own (small, so nothing of the bench's build and pull
 * competes with the timed runs). Waits for quiet CPUs, does one untimed
 * round, then RUNS interleaved rounds of: our download in a fresh process as a pull
 * runs it (pull-download.ts), the same without the sha256, our download in
 * this process, curl -o FILE, curl -o /dev/null, curl | sha256sum, and
 * curl -o FILE then openssl dgst. Prints {samples, hashSeconds} as JSON.
 * Usage: pull-compare.js REFERENCE LAYER_DIGEST LAYER_SIZE BLOB_URL TARGET RUNS
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { RegistryClient } from "../src/environments/oci/client.js";
import { parseReference } from "../src/environments/oci/reference.js";

const MIB = 1024 * 1024;

/** Seconds curl spent on the transfer (its own clock: process start-up not counted). */
function curlSeconds(url: string, output: string): number {
  return Number(execFileSync("curl", ["-sS", "--fail", "-o", output, "-w", "%{time_total}", url]).toString());
}

/**
 * Seconds of the layer download in a fresh process, the way a pull does it (its own clock: start-up not counted).
 * `transfer`: the same receive and store without the sha256 (pull-download.ts).
 */
function pullDownloadSeconds(reference: string, digest: string, size: number, output: string, mode: "verified" | "transfer" = "verified"): number {
  const script = join(dirname(fileURLToPath(import.meta.url)), "pull-download.js");
  return Number(execFileSync(process.execPath, [script, reference, digest, String(size), output, mode]).toString());
}

/** Seconds node:crypto takes to sha256 `file` held in memory, in 1 MiB pieces as a download feeds it (best of 3). */
function sha256Seconds(file: string): number {
  const bytes = readFileSync(file);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    const hash = createHash("sha256");
    for (let at = 0; at < bytes.length; at += MIB) hash.update(bytes.subarray(at, at + MIB));
    hash.digest();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
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
/** Busy and total CPU time so far, from /proc/stat (jiffies, all CPUs). */
function cpuTimes(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Wait (at most 30 s) until the CPUs were at least 90 % idle over half a
 * second: the build's and the pull's leftovers (writeback, page reclaim) would
 * otherwise land in the first timed downloads, which are CPU-bound.
 */
async function waitForQuietCpu(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const before = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = cpuTimes();
    if (after.total > before.total && (after.busy - before.busy) / (after.total - before.total) <= 0.1) return;
  }
  console.error("the CPUs did not quiet down within 30 s: the download figures below are under load");
}

const [reference = "", digest = "", sizeText = "0", url = "", target = "", runsText = "5"] = process.argv.slice(2);
const size = Number(sizeText);
const client = new RegistryClient(parseReference(reference));
const samples = { pyro: [] as number[], transfer: [] as number[], inProcess: [] as number[], curlFile: [] as number[], curlNull: [] as number[], curlHash: [] as number[], curlOpenssl: [] as number[] };
await waitForQuietCpu();
// One untimed round first: page cache, registry and curl warm up alike. Some
// fresh processes here burn 40-170 ms more CPU on the same work (seen in their
// own rusage; host noise, at any point of a run): read the medians, and the
// per-run times on stderr.
pullDownloadSeconds(reference, digest, size, target);
rmSync(target, { force: true });
curlSeconds(url, target);
for (let run = 0; run < Number(runsText); run++) {
  rmSync(target, { force: true });
  samples.pyro.push(pullDownloadSeconds(reference, digest, size, target));
  rmSync(target, { force: true });
  samples.transfer.push(pullDownloadSeconds(reference, digest, size, target, "transfer"));
  rmSync(target, { force: true });
  const started = performance.now();
  await client.downloadBlob(digest, size, target);
  samples.inProcess.push((performance.now() - started) / 1000);
  rmSync(target, { force: true });
  samples.curlFile.push(curlSeconds(url, target));
  samples.curlNull.push(curlSeconds(url, "/dev/null"));
  samples.curlHash.push(curlHashSeconds(url));
  rmSync(target, { force: true });
  samples.curlOpenssl.push(curlThenOpensslSeconds(url, target));
}
const hashSeconds = sha256Seconds(target);
rmSync(target, { force: true });
console.log(JSON.stringify({ samples, hashSeconds }));
