import { z } from "zod";
import type { RegistryClient } from "../oci/client.js";
import { RegistryError } from "../oci/errors.js";
import type { ImageReference } from "./reference.js";

/** Manifest and index media types pyro accepts, OCI and Docker. */
export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

/** Layer media types pyro unpacks, with their compression. */
export const LAYER_TYPES: Record<string, "none" | "gzip" | "zstd"> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar": "none",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
};

const CONFIG_TYPES = ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];
const ACCEPT = Object.values(MEDIA).join(", ");
/** At most this many layers: real images have a few dozen; each costs a download and a pass. */
const MAX_LAYERS = 128;

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const descriptor = z.object({ mediaType: z.string(), digest, size: z.number().int().nonnegative() });
const manifestSchema = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), config: descriptor, layers: z.array(descriptor) });
const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(
    descriptor.extend({ platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional() }),
  ),
});
const configSchema = z.object({
  architecture: z.string().optional(),
  os: z.string().optional(),
  config: z
    .object({
      Env: z.array(z.string()).nullish(),
      WorkingDir: z.string().nullish(),
      User: z.string().nullish(),
    })
    .passthrough()
    .nullish(),
});

/** One layer of an image manifest. */
export type LayerDescriptor = z.infer<typeof descriptor>;

/** What the image config says processes run with. */
export interface ImageRuntime {
  /** `Env` as `NAME=value` pairs, in order. */
  env: string[];
  /** `WorkingDir`, or null when unset. */
  working_dir: string | null;
  /** `User`, or null when unset. */
  user: string | null;
}

/** A resolved image: its manifest digest, layers and the runtime part of its config. */
export interface ResolvedImage {
  manifestDigest: string;
  /** The index digest the manifest was chosen from, if any. */
  indexDigest: string | null;
  configDigest: string;
  layers: LayerDescriptor[];
  runtime: ImageRuntime;
  platform: string;
}

function parse<T>(schema: z.ZodType<T>, bytes: Buffer, what: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new RegistryError("protocol", `the registry answered ${what} of ${where} that is not JSON`, { cause: error, hint: "check the reference and the registry: it answers garbage" });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new RegistryError("protocol", `${what} of ${where} is not a valid image ${what.replace(/^(a|an|the) /, "")}`, {
      hint: "pyro reads OCI and Docker v2 images (schema 2); check the reference",
      details: { issues: result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
    });
  }
  return result.data;
}

function isIndex(mediaType: string | null, json: { manifests?: unknown; mediaType?: string }): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList || json.mediaType === MEDIA.ociIndex || json.mediaType === MEDIA.dockerList || (Array.isArray(json.manifests) && !("layers" in json));
}

/**
 * Resolve `ref` to one linux/amd64 image manifest (choosing from a
 * multi-platform index), check its layer types, and read its config.
 */
export async function resolveImage(client: RegistryClient, ref: ImageReference): Promise<ResolvedImage> {
  const where = ref.canonical;
  let doc = await client.getDocument(ref.reference, ACCEPT);
  let indexDigest: string | null = null;
  let peek: { manifests?: unknown; mediaType?: string; schemaVersion?: unknown } = {};
  try {
    peek = JSON.parse(doc.bytes.toString("utf8")) as typeof peek;
  } catch {
    // parse() below says so
  }
  if (peek.schemaVersion === 1) {
    throw new RegistryError("protocol", `${where} is a Docker schema 1 manifest, which pyro does not read`, { hint: "push the image again with a current Docker or buildah (schema 2 / OCI)" });
  }
  if (isIndex(doc.mediaType, peek)) {
    const index = parse(indexSchema, doc.bytes, "the index", where);
    indexDigest = doc.digest;
    const amd64 = index.manifests.filter((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64");
    const chosen = amd64.find((m) => !m.platform?.variant || m.platform.variant === "v1") ?? amd64[0];
    if (!chosen) {
      const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ""}` : "unknown")).filter((p) => p !== "unknown/unknown");
      throw new RegistryError("protocol", `${where} has no linux/amd64 image (it has: ${have.join(", ") || "none"})`, {
        hint: "pyro's guests are x86_64: use an image built for linux/amd64",
        details: { platforms: have },
      });
    }
    doc = await client.getDocument(chosen.digest, ACCEPT);
  }
  const manifest = parse(manifestSchema, doc.bytes, "the manifest", where);
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    throw new RegistryError("protocol", `${where} is not a container image (config media type ${manifest.config.mediaType})`, {
      hint: "pyro runs container images (OCI or Docker); artifacts of other kinds cannot be an environment",
    });
  }
  const unknown = manifest.layers.filter((layer) => !(layer.mediaType in LAYER_TYPES)).map((layer) => layer.mediaType);
  if (unknown.length > 0) {
    throw new RegistryError("protocol", `${where} has layers of a media type pyro cannot unpack: ${[...new Set(unknown)].join(", ")}`, {
      hint: `pyro unpacks tar layers, plain, gzip or zstd (${Object.keys(LAYER_TYPES).slice(0, 3).join(", ")} and the Docker equivalents)`,
    });
  }
  if (manifest.layers.length > MAX_LAYERS) {
    throw new RegistryError("protocol", `${where} has ${manifest.layers.length} layers, more than pyro's ${MAX_LAYERS}`, { hint: "squash the image" });
  }
  const config = parse(configSchema, await client.getSmallBlob(manifest.config.digest, manifest.config.size), "the config", where);
  if ((config.architecture && config.architecture !== "amd64") || (config.os && config.os !== "linux")) {
    throw new RegistryError("protocol", `${where} is an image for ${config.os ?? "?"}/${config.architecture ?? "?"}, not linux/amd64`, {
      hint: "pyro's guests are x86_64: use an image built for linux/amd64",
    });
  }
  return {
    manifestDigest: doc.digest,
    indexDigest,
    configDigest: manifest.config.digest,
    layers: manifest.layers,
    runtime: { env: config.config?.Env ?? [], working_dir: config.config?.WorkingDir || null, user: config.config?.User || null },
    platform: "linux/amd64",
  };
}
