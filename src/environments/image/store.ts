import { createHash } from "node:crypto";
import { open, readFile, rename, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { cacheLayout } from "../layout.js";

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** Schema of an installed image's `manifest.json` (written last, then the directory is renamed into place). */
export const ImageManifestSchema = z.object({
  schema_version: z.literal(1),
  kind: z.literal("image"),
  /** The reference it was first pulled as (canonical text). */
  reference: z.string(),
  /** `registry/repository@sha256:…`: what records name. */
  pinned: z.string(),
  manifest_digest: digest,
  index_digest: digest.nullable(),
  config_digest: digest,
  platform: z.string(),
  layers: z.array(z.object({ digest, size_bytes: z.number().int().nonnegative(), media_type: z.string() })),
  runtime: z.object({
    env: z.array(z.string()),
    working_dir: z.string().nullable(),
    user: z.string().nullable(),
    /** `user` resolved against the image's /etc/passwd and /etc/group (null: root). */
    run_as: z.object({ uid: z.number().int(), gid: z.number().int(), groups: z.array(z.number().int()), home: z.string() }).nullable().optional(),
  }),
  rootfs: z.object({ size_bytes: z.number().int().nonnegative(), file_count: z.number().int().nonnegative() }),
  image: z.object({ size_bytes: z.number().int().nonnegative(), disk_bytes: z.number().int().nonnegative() }),
  agent: z.object({ version: z.string(), sha256: digest, size_bytes: z.number().int().nonnegative() }),
  pulled_at: z.string(),
});

/** Parsed `manifest.json` of an installed image. */
export type ImageManifest = z.infer<typeof ImageManifestSchema>;

/** Where images live in a cache: one directory per manifest digest, plus the tag index. */
export function imagesRoot(cacheDir: string): string {
  return join(cacheDir, "images");
}

/** Paths of the image with manifest digest `manifestDigest` (installed or not). */
export function imagePaths(cacheDir: string, manifestDigest: string) {
  const hex = manifestDigest.replace(/^sha256:/, "");
  const dir = join(imagesRoot(cacheDir), hex);
  return {
    dir,
    manifest: join(dir, "manifest.json"),
    rootfs: join(dir, "rootfs"),
    image: join(dir, "rootfs.ext4"),
    lock: join(cacheLayout(cacheDir).locks, `image-${hex}.lock`),
  };
}

/** The installed image's manifest, or null when it is not (fully) installed. */
export async function readImageManifest(cacheDir: string, manifestDigest: string): Promise<ImageManifest | null> {
  const paths = imagePaths(cacheDir, manifestDigest);
  try {
    const parsed = ImageManifestSchema.safeParse(JSON.parse(await readFile(paths.manifest, "utf8")));
    if (!parsed.success) return null;
    await stat(paths.image);
    await stat(paths.rootfs);
    return parsed.data;
  } catch {
    return null;
  }
}

function refFile(cacheDir: string, reference: string): string {
  return join(imagesRoot(cacheDir), "refs", `${createHash("sha256").update(reference).digest("hex")}.json`);
}

/** The manifest digest a reference (tag or digest form, canonical text) last resolved to here, if any. */
export async function lookupRef(cacheDir: string, reference: string): Promise<string | null> {
  try {
    const parsed = z.object({ reference: z.string(), manifest_digest: digest }).parse(JSON.parse(await readFile(refFile(cacheDir, reference), "utf8")));
    return parsed.reference === reference ? parsed.manifest_digest : null;
  } catch {
    return null;
  }
}

/** Record that `reference` resolves to `manifestDigest` (atomically: temp file, fsync, rename). */
export async function recordRef(cacheDir: string, reference: string, manifestDigest: string): Promise<void> {
  const path = refFile(cacheDir, reference);
  await mkdir(join(imagesRoot(cacheDir), "refs"), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(`${JSON.stringify({ reference, manifest_digest: manifestDigest })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
