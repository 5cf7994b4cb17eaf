import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { CatalogEntry } from "../types.js";
import { percentReporter, pullLine, type ProgressFn } from "../progress.js";
import { extractRootfsLayer } from "./layer.js";
import { RegistryClient, type RegistryClientOptions } from "./client.js";
import { RegistryError } from "./errors.js";
import { EnvironmentConfigSchema, PYRO_CONFIG, PYRO_ROOTFS_LAYER, type EnvironmentConfig } from "./media-types.js";
import { formatReference, type OciReference } from "./reference.js";

/** What an OCI fetch leaves behind and records. */
export interface FetchedArtifact {
  config: EnvironmentConfig;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  layerSize: number;
  layerMediaType: string;
}

/**
 * Fetch the artifact `ref` for `entry`, verify every blob, and extract its
 * rootfs into `rootfsDir` (created here). The caller still compares the
 * extracted tree with `config.tree_digest`.
 */
export async function fetchRootfsFromOci(
  ref: OciReference,
  entry: CatalogEntry,
  workDir: string,
  rootfsDir: string,
  onProgress: ProgressFn,
  clientOptions: RegistryClientOptions = {},
): Promise<FetchedArtifact> {
  const client = new RegistryClient(ref, clientOptions);
  const where = formatReference(ref);
  const { manifest, digest: manifestDigest } = await client.getManifest(ref.reference);
  const layer = manifest.layers[0];
  if (manifest.config.mediaType !== PYRO_CONFIG || manifest.layers.length !== 1 || layer?.mediaType !== PYRO_ROOTFS_LAYER) {
    throw new RegistryError("protocol", `${where} is not a pyro environment artifact`, {
      details: { config_media_type: manifest.config.mediaType, layer_media_types: manifest.layers.map((l) => l.mediaType) },
    });
  }
  const configBytes = await client.getSmallBlob(manifest.config.digest, manifest.config.size);
  let config: EnvironmentConfig;
  try {
    config = EnvironmentConfigSchema.parse(JSON.parse(configBytes.toString("utf8")));
  } catch (error) {
    throw new RegistryError("protocol", `${where} has an unreadable environment config`, { cause: error });
  }
  if (config.name !== entry.name) {
    throw new RegistryError("protocol", `${where} holds environment ${config.name}, not ${entry.name}`);
  }

  const layerPath = join(workDir, "layer.tar.gz");
  onProgress(pullLine("download", entry.name, { reference: where, digest: layer.digest, bytes: layer.size }));
  const started = Date.now();
  await client.downloadBlob(
    layer.digest,
    layer.size,
    layerPath,
    percentReporter((percent, done, total) => onProgress(pullLine("download", entry.name, { percent, bytes: done, total_bytes: total }))),
  );
  const seconds = Math.max((Date.now() - started) / 1000, 0.001);
  onProgress(pullLine("download", entry.name, { percent: 100, verified: layer.digest, mib_per_s: Math.round((layer.size / 1048576 / seconds) * 10) / 10 }));

  onProgress(pullLine("build", entry.name, { source: "oci", step: "extract" }));
  await mkdir(rootfsDir, { mode: 0o755 });
  await extractRootfsLayer(layerPath, rootfsDir);
  await rm(layerPath, { force: true });
  return {
    config,
    manifestDigest,
    configDigest: manifest.config.digest,
    layerDigest: layer.digest,
    layerSize: layer.size,
    layerMediaType: layer.mediaType,
  };
}
