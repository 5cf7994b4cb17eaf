import { mkdir, mkdtemp, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { processStartTime } from "../util/process.js";
import { sha256File } from "../util/sha256-file.js";
import type { AgentBinary } from "./agent.js";
import { buildExt4Image } from "./build/image.js";
import { AGENT_GUEST_PATH, INIT_GUEST_PATH, injectAgent } from "./build/rootfs.js";
import { CATALOG_VERSION, pathSafeName } from "./catalog.js";
import { cacheLayout, environmentPaths, ENV_FILES } from "./layout.js";
import { writeManifest, type EnvironmentManifest } from "./manifest.js";
import type { TreeSummary } from "./build/tree-digest.js";
import type { CatalogEntry } from "./types.js";
import { pullLine, type ProgressFn } from "./progress.js";

/**
 * Prefix of a pull's (or an OCI push's) temp dir: `<env>.<pid>.<starttime>.`
 * lets prune tell live pulls from dead ones. `name` need not be a catalog entry.
 */
export function tempDirPrefix(name: string): string {
  return `${pathSafeName(name)}.${process.pid}.${processStartTime(process.pid) ?? 0}.`;
}

/** Create the private work directory of one pull inside the cache's `tmp/`. */
export async function makeWorkDir(cacheDir: string, name: string): Promise<string> {
  const { tmp } = cacheLayout(cacheDir);
  await mkdir(tmp, { recursive: true });
  return mkdtemp(join(tmp, tempDirPrefix(name)));
}

/** sha256 of a file as `sha256:<hex>`. */
export async function fileSha256(path: string): Promise<string> {
  return `sha256:${await sha256File(path)}`;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Facts from the build or fetch step that go into the manifest. */
export interface StagedRootfs {
  source: "local" | "oci";
  reference: string | null;
  tree: TreeSummary;
  oci: EnvironmentManifest["oci"];
}

/**
 * Turn the staged `workDir/rootfs` into an installed environment: inject the
 * agent, build the ext4 image, write and fsync `manifest.json` last, then
 * rename the work directory into place (replacing an older entry).
 */
export async function finishInstall(
  cacheDir: string,
  entry: CatalogEntry,
  workDir: string,
  staged: StagedRootfs,
  agent: AgentBinary,
  onProgress: ProgressFn,
): Promise<EnvironmentManifest> {
  const rootfs = join(workDir, ENV_FILES.rootfs);
  const image = join(workDir, ENV_FILES.image);
  await injectAgent(rootfs, agent);
  const contentBytes = staged.tree.sizeBytes + agent.sizeBytes;
  onProgress(pullLine("image", entry.name, { format: "ext4", content_bytes: contentBytes }));
  const imageInfo = await buildExt4Image(rootfs, image, contentBytes);
  const imageDigest = await fileSha256(image);

  onProgress(pullLine("install", entry.name));
  const manifest: EnvironmentManifest = {
    schema_version: 1,
    name: entry.name,
    catalog_version: CATALOG_VERSION,
    source: staged.source,
    reference: staged.reference,
    suite: entry.suite,
    packages: [...entry.packages],
    rootfs: { tree_digest: staged.tree.digest, size_bytes: staged.tree.sizeBytes, file_count: staged.tree.fileCount },
    image: { sha256: imageDigest, size_bytes: imageInfo.sizeBytes, disk_bytes: imageInfo.diskBytes },
    oci: staged.oci,
    agent: {
      version: agent.version,
      sha256: agent.sha256,
      size_bytes: agent.sizeBytes,
      paths: [AGENT_GUEST_PATH, INIT_GUEST_PATH],
    },
    created: new Date().toISOString(),
  };
  await fsyncPath(image);
  await writeManifest(join(workDir, ENV_FILES.manifest), manifest);
  await fsyncPath(workDir);

  const target = environmentPaths(cacheDir, entry.name).dir;
  const trash = `${workDir}.old`;
  let replaced = false;
  try {
    await rename(target, trash);
    replaced = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await rename(workDir, target);
  await fsyncPath(cacheDir);
  if (replaced) await rm(trash, { recursive: true, force: true });
  return manifest;
}
