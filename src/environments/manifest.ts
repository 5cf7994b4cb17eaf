import { open, readFile } from "node:fs/promises";
import { z } from "zod";
import { PyroError } from "../util/errors.js";

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** Schema of `manifest.json`, the last file written into an installed environment. */
export const EnvironmentManifestSchema = z.object({
  schema_version: z.literal(1),
  name: z.string(),
  catalog_version: z.string(),
  source: z.enum(["local", "oci"]),
  /** Full OCI reference pulled from; null for local builds. */
  reference: z.string().nullable(),
  suite: z.string(),
  packages: z.array(z.string()),
  rootfs: z.object({
    /** Digest of the rootfs tree before the agent is injected (see tree-digest.ts). */
    tree_digest: digest,
    size_bytes: z.number().int().nonnegative(),
    file_count: z.number().int().nonnegative(),
  }),
  image: z.object({
    sha256: digest,
    size_bytes: z.number().int().nonnegative(),
    /** Bytes the sparse image really occupies on disk. */
    disk_bytes: z.number().int().nonnegative(),
  }),
  oci: z
    .object({
      manifest_digest: digest,
      config_digest: digest,
      layer_digest: digest,
      layer_size_bytes: z.number().int().nonnegative(),
      layer_media_type: z.string(),
    })
    .nullable(),
  agent: z.object({
    version: z.string(),
    sha256: digest,
    size_bytes: z.number().int().nonnegative(),
    /** Paths inside the rootfs (`/usr/local/sbin/pyro-agent`, `/sbin/pyro-init`). */
    paths: z.array(z.string()),
  }),
  created: z.string(),
});

/** Parsed `manifest.json` of an installed environment. */
export type EnvironmentManifest = z.infer<typeof EnvironmentManifestSchema>;

/** Read and validate a manifest; null when absent, PyroError `corrupt_state` when unreadable. */
export async function readManifest(path: string): Promise<EnvironmentManifest | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PyroError("corrupt_state", `environment manifest ${path} is not valid JSON`, {
      hint: "run `pyro env prune` to remove the broken entry, then pull again",
      cause: error,
    });
  }
  const result = EnvironmentManifestSchema.safeParse(parsed);
  if (!result.success) {
    throw new PyroError("corrupt_state", `environment manifest ${path} does not match the expected format`, {
      hint: "run `pyro env prune` to remove the broken entry, then pull again",
      details: { issues: result.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
    });
  }
  return result.data;
}

/** Write `manifest` to `path` and fsync it before the caller renames the directory into place. */
export async function writeManifest(path: string, manifest: EnvironmentManifest): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
