/**
 * Environment benchmark: local build time and sizes per environment, then
 * pull throughput from a loopback docker-registry next to a plain curl of the
 * same blob. Run through bench/env-build.sh (it compiles this file first).
 * Usage: env-bench.js [ENV...]   (default: every catalog environment)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CATALOG, pullEnvironment } from "../src/environments/index.js";
import { pushEnvironment } from "../src/environments/oci/push.js";
import { parseReference } from "../src/environments/oci/reference.js";
import { startRegistry } from "../test/helpers/registry.js";

const MIB = 1024 * 1024;
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
      let downloadLine = "";
      const pulled = await pullEnvironment(name, {
        cacheDir: pullCache,
        registryOverride: registry.host,
        onProgress: (line) => {
          if (line.includes("mib_per_s=")) downloadLine = line;
        },
      });
      const pyroMibS = Number(/mib_per_s=([\d.]+)/.exec(downloadLine)?.[1] ?? "0");
      const curl = execFileSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{speed_download} %{time_total}", `http://${registry.host}/v2/${ref.repository}/blobs/${pushed.layer_digest}`]).toString().split(" ");
      const curlMibS = Number(curl[0]) / MIB;
      // curl does not verify; this is the fair comparison for pyro's verified download.
      const hashedStart = Date.now();
      execFileSync("bash", ["-c", `curl -sS http://${registry.host}/v2/${ref.repository}/blobs/${pushed.layer_digest} | sha256sum >/dev/null`]);
      const curlHashedMibS = pushed.layer_size_bytes / MIB / ((Date.now() - hashedStart) / 1000);
      rows.push(
        [
          name.padEnd(16),
          `build ${(built.duration_ms / 1000).toFixed(1)} s`,
          `rootfs ${((built.sizes.rootfs_bytes ?? 0) / MIB).toFixed(0)} MiB`,
          `image ${((built.sizes.root_image_bytes ?? 0) / MIB).toFixed(0)} MiB (${((built.sizes.root_image_disk_bytes ?? 0) / MIB).toFixed(0)} MiB on disk)`,
          `layer ${(pushed.layer_size_bytes / MIB).toFixed(0)} MiB`,
          `push ${(pushMs / 1000).toFixed(1)} s`,
          `pull ${(pulled.duration_ms / 1000).toFixed(1)} s`,
          `download pyro ${pyroMibS.toFixed(0)} MiB/s (verified) vs curl ${curlMibS.toFixed(0)} MiB/s, curl|sha256sum ${curlHashedMibS.toFixed(0)} MiB/s`,
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
