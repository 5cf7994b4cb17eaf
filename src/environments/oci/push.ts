import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";
import { agentRelPaths } from "../build/rootfs.js";
import { catalogEntry } from "../catalog.js";
import { makeWorkDir } from "../install.js";
import { percentReporter, type ProgressFn } from "../progress.js";
import { cacheState } from "../status.js";
import type { RegistryCredentials } from "./auth.js";
import { RegistryClient } from "./client.js";
import { packRootfsLayer } from "./layer.js";
import { OCI_MANIFEST, PYRO_ARTIFACT_TYPE, PYRO_CONFIG, PYRO_ROOTFS_LAYER, type EnvironmentConfig } from "./media-types.js";
import { formatReference, type OciReference } from "./reference.js";
import { createHash } from "node:crypto";

/** Options of {@link pushEnvironment}. */
export interface PushOptions {
  cacheDir: string;
  /** Where to push (`host/repo:tag`). */
  target: OciReference;
  credentials?: RegistryCredentials;
  /** Bytes per PATCH of the chunked upload (default 16 MiB). */
  chunkSize?: number;
  onProgress?: ProgressFn;
}

/** Result of a push. */
export interface PushResult {
  environment: string;
  reference: string;
  manifest_digest: string;
  config_digest: string;
  layer_digest: string;
  layer_size_bytes: number;
  layer_uploaded: boolean;
}

function pushLine(phase: string, fields: Record<string, string | number>): string {
  return `[push] phase=${phase} ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(" ")}`;
}

/**
 * Publish the installed environment `name` as an OCI artifact: a config
 * blob (pyro's environment metadata) and one gzip tar layer of the rootfs
 * without the injected agent (every client injects its own), uploaded in
 * chunks, then the manifest under the target's tag.
 */
export async function pushEnvironment(name: string, options: PushOptions): Promise<PushResult> {
  const entry = catalogEntry(name);
  const state = await cacheState(options.cacheDir, name);
  if (state.status !== "installed") {
    throw new PyroError("failed_precondition", `environment ${name} is not installed in ${options.cacheDir}`, {
      hint: `build it first: pyro env pull ${name} (with PYRO_OCI_REGISTRY=none to force a local build)`,
    });
  }
  const onProgress = options.onProgress ?? (() => undefined);
  const client = new RegistryClient(options.target, { actions: "pull,push", ...(options.credentials ? { credentials: options.credentials } : {}) });
  const workDir = await makeWorkDir(options.cacheDir, `push-${name}`);
  try {
    const layerPath = join(workDir, "layer.tar.gz");
    onProgress(pushLine("pack", { environment: name }));
    const exclude = await agentRelPaths(state.paths.rootfs);
    const layer = await packRootfsLayer(state.paths.rootfs, layerPath, exclude);

    const config: EnvironmentConfig = {
      schema_version: 1,
      name,
      catalog_version: state.manifest.catalog_version,
      suite: entry.suite,
      packages: [...entry.packages],
      tree_digest: state.manifest.rootfs.tree_digest,
      rootfs_size_bytes: state.manifest.rootfs.size_bytes,
      file_count: state.manifest.rootfs.file_count,
      created: state.manifest.created,
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = `sha256:${createHash("sha256").update(configBytes).digest("hex")}`;
    await client.uploadBlob(configDigest, configBytes.length, async (offset, length) => configBytes.subarray(offset, offset + length), 1 << 20);

    const handle = await open(layerPath, "r");
    let uploaded: "uploaded" | "exists";
    try {
      onProgress(pushLine("upload", { environment: name, digest: layer.digest, bytes: layer.size }));
      uploaded = await client.uploadBlob(
        layer.digest,
        layer.size,
        async (offset, length) => {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          return buffer.subarray(0, bytesRead);
        },
        options.chunkSize ?? 16 << 20,
        percentReporter((percent) => onProgress(pushLine("upload", { environment: name, percent }))),
      );
    } finally {
      await handle.close();
    }

    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: PYRO_ARTIFACT_TYPE,
      config: { mediaType: PYRO_CONFIG, digest: configDigest, size: configBytes.length },
      layers: [{ mediaType: PYRO_ROOTFS_LAYER, digest: layer.digest, size: layer.size, annotations: { "org.opencontainers.image.title": "rootfs.tar.gz" } }],
      annotations: { "org.opencontainers.image.created": state.manifest.created, "dev.pyro.environment": name },
    };
    const manifestDigest = await client.putManifest(options.target.reference, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    onProgress(pushLine("done", { environment: name, reference: formatReference(options.target), digest: manifestDigest }));
    return {
      environment: name,
      reference: formatReference(options.target),
      manifest_digest: manifestDigest,
      config_digest: configDigest,
      layer_digest: layer.digest,
      layer_size_bytes: layer.size,
      layer_uploaded: uploaded === "uploaded",
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
