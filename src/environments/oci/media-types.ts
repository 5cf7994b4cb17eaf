import { z } from "zod";

/** OCI image manifest media type; pyro artifacts are plain OCI manifests. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** The artifact type recorded in the manifest (OCI 1.1 `artifactType`). */
export const PYRO_ARTIFACT_TYPE = "application/vnd.pyro.environment.v1";
/** Config blob: JSON {@link EnvironmentConfigSchema}. */
export const PYRO_CONFIG = "application/vnd.pyro.environment.config.v1+json";
/** The one layer: the rootfs as a gzip-compressed POSIX tar, paths relative (`./usr/...`). */
export const PYRO_ROOTFS_LAYER = "application/vnd.pyro.rootfs.tar+gzip";

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

const descriptor = z.object({
  mediaType: z.string(),
  digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** The subset of an OCI image manifest pyro reads. */
export const OciManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor).min(1),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** A parsed OCI manifest. */
export type OciManifest = z.infer<typeof OciManifestSchema>;

/** The config blob of a pyro environment artifact. */
export const EnvironmentConfigSchema = z.object({
  schema_version: z.literal(1),
  name: z.string(),
  catalog_version: z.string(),
  suite: z.string(),
  packages: z.array(z.string()),
  /** Tree digest of the rootfs the layer extracts to (agent not included). */
  tree_digest: digest,
  rootfs_size_bytes: z.number().int().nonnegative(),
  file_count: z.number().int().nonnegative(),
  created: z.string(),
});

/** Parsed config blob. */
export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
