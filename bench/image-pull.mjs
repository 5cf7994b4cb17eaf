// Issue 16's benchmark, in one run: pull + convert of a ~100 MB OCI image (the
// debian:12 rootfs as a gzip layer plus a small second layer, pushed to a
// loopback docker-registry by a plain v2 client) against the raw limit, curl of
// its blobs plus `tar -x` of its layers into one directory; and the first
// `pyro run` of the freshly pulled image against a curated environment's.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pullEnvironment, ensureEnvironment } from "../dist/environments/index.js";
import { median, report } from "./lib.mjs";

const cacheDir = process.env.PYRO_ENVIRONMENT_CACHE_DIR ?? "/var/tmp/pyro-test-cache";
const runs = Number(process.env.BENCH_PULL_RUNS ?? 3);
const backends = (process.env.BENCH_IMAGE_BACKENDS ?? "sandbox,qemu").split(",").filter(Boolean);
const work = mkdtempSync(join(tmpdir(), "pyro-bench-image-"));
const cli = new URL("../dist/cli.js", import.meta.url).pathname;

function sh(command) {
  const result = spawnSync("sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
  return result.stdout;
}

function blobOf(path, mediaType) {
  const bytes = readFileSync(path);
  return { path, mediaType, size: bytes.length, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The image: debian:12's rootfs (Git included) as one gzip layer, plus a small layer on top.
const base = await ensureEnvironment("debian:12", { cacheDir, kernel: backends.includes("qemu") });
sh(`tar -C ${base.rootfsDir} --numeric-owner --exclude=./usr/local/sbin/pyro-agent --exclude=./sbin/pyro-init -cf - . | gzip -6 > ${work}/layer1.tar.gz`);
mkdirSync(join(work, "l2", "etc"), { recursive: true });
writeFileSync(join(work, "l2", "etc", "bench-marker"), "bench\n");
sh(`tar -C ${work}/l2 --numeric-owner -czf ${work}/layer2.tar.gz .`);
const layers = [blobOf(join(work, "layer1.tar.gz"), "application/vnd.oci.image.layer.v1.tar+gzip"), blobOf(join(work, "layer2.tar.gz"), "application/vnd.oci.image.layer.v1.tar+gzip")];
writeFileSync(join(work, "config.json"), JSON.stringify({ architecture: "amd64", os: "linux", config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], WorkingDir: "/" }, rootfs: { type: "layers", diff_ids: [] } }));
const config = blobOf(join(work, "config.json"), "application/vnd.oci.image.config.v1+json");
const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: config.mediaType, digest: config.digest, size: config.size }, layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })) });
const compressed = layers.reduce((sum, layer) => sum + layer.size, 0);

// A loopback registry, pushed to with plain v2 requests.
const port = await freePort();
const host = `127.0.0.1:${port}`;
writeFileSync(join(work, "registry.yml"), `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${work}/storage\nhttp:\n  addr: ${host}\n`);
const registry = spawn("docker-registry", ["serve", join(work, "registry.yml")], { stdio: "ignore" });
for (let i = 0; i < 200; i++) {
  if (await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}
for (const blob of [config, ...layers]) {
  const start = await fetch(`http://${host}/v2/bench/debian/blobs/uploads/`, { method: "POST" });
  const location = new URL(start.headers.get("location"), `http://${host}`);
  location.searchParams.set("digest", blob.digest);
  const put = await fetch(location, { method: "PUT", body: readFileSync(blob.path), headers: { "content-type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`push ${blob.digest}: ${put.status}`);
}
await fetch(`http://${host}/v2/bench/debian/manifests/v1`, { method: "PUT", body: manifest, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
const ref = `${host}/bench/debian:v1`;

// Ours: a fresh cache per run (the kernel linked in), timed to "rootfs unpacked" and to "installed" (ext4 image built).
const ours = [];
const unpacked = [];
let pulledCache;
for (let i = 0; i < runs; i++) {
  const dir = join(work, `cache-${i}`);
  mkdirSync(dir);
  spawnSync("ln", ["-s", join(cacheDir, "kernels"), join(dir, "kernels")]);
  const started = performance.now();
  let atImage = 0;
  await pullEnvironment(ref, { cacheDir: dir, onProgress: (line) => {
    if (!atImage && line.includes("phase=image")) atImage = performance.now() - started;
  } });
  ours.push(performance.now() - started);
  unpacked.push(atImage);
  if (i < runs - 1) rmSync(dir, { recursive: true, force: true });
  else pulledCache = dir;
}

// The raw limit: curl each blob to a file, then tar -x it (gzip) into one directory, in layer order.
const raw = [];
const rawPiped = [];
for (let i = 0; i < runs; i++) {
  const dir = join(work, `raw-${i}`);
  mkdirSync(dir);
  let started = performance.now();
  for (const layer of layers) {
    sh(`curl -sf -o ${dir}.blob http://${host}/v2/bench/debian/blobs/${layer.digest} && tar -xzf ${dir}.blob -C ${dir} --numeric-owner --same-owner -p`);
  }
  raw.push(performance.now() - started);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  started = performance.now();
  for (const layer of layers) sh(`curl -sf http://${host}/v2/bench/debian/blobs/${layer.digest} | tar -xz -C ${dir} --numeric-owner --same-owner -p`);
  rawPiped.push(performance.now() - started);
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.blob`, { force: true });
}

const unpackedBytes = Number(sh(`du -sb ${pulledCache}/images/*/rootfs | cut -f1`).trim());
report(`pull + convert of ${ref} (${(compressed / 1048576).toFixed(1)} MiB compressed, ${(unpackedBytes / 1048576).toFixed(0)} MiB unpacked, 2 layers)`, [
  { name: "curl -o FILE + tar -xzf, per layer (the raw limit)", samples: raw },
  { name: "curl | tar -xz, per layer", samples: rawPiped },
  { name: "pyro pull: download + verify + unpack (rootfs ready)", samples: unpacked },
  { name: "pyro pull: all (+ agent, ext4 image, manifest)", samples: ours },
]);
const throughput = (row) => median(raw) / median(row);
process.stdout.write(`  speed vs raw limit: unpacked ${throughput(unpacked).toFixed(2)}x, installed ${throughput(ours).toFixed(2)}x (target ≥ 0.6x)\n`);

// First run of the freshly pulled image against the curated environment's (a whole `pyro run` process each).
const state = join(work, "state");
mkdirSync(state);
const firstRuns = [];
for (const backend of backends) {
  for (const [name, environment, dir] of [["image, first run after pull", ref, pulledCache], ["debian:12 (curated)", "debian:12", cacheDir]]) {
    const env = { ...process.env, PYRO_STATE_DIR: state, PYRO_ENVIRONMENT_CACHE_DIR: dir, PYRO_QEMU_SNAPSHOTS: "0" };
    const started = performance.now();
    const result = spawnSync(process.execPath, [cli, "run", "--backend", backend, "--allow-host-compat", environment, "--", "true"], { env, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`pyro run ${environment} on ${backend}: ${result.stderr}`);
    firstRuns.push({ name: `pyro run ${name} on ${backend} (cold, no boot snapshot)`, samples: [performance.now() - started] });
  }
}
report("first pyro run -- true", firstRuns);

registry.kill();
rmSync(work, { recursive: true, force: true });
