import { rename, rm, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { withLock } from "../util/lock.js";
import type { AgentBinary } from "./agent.js";
import { buildExt4Image } from "./build/image.js";
import { injectAgent } from "./build/rootfs.js";
import { fileSha256 } from "./install.js";
import { environmentPaths } from "./layout.js";
import type { EnvironmentManifest } from "./manifest.js";
import { pullLine, type ProgressFn } from "./progress.js";
import { cacheState } from "./status.js";

/**
 * Re-inject a changed agent binary into an installed environment: replace it
 * in the rootfs, build a new image beside the old one and rename it over,
 * then replace `manifest.json` atomically. Returns whether anything changed.
 * The rootfs tree digest does not cover the agent, so it stays valid.
 */
export async function refreshAgent(cacheDir: string, name: string, agent: AgentBinary, onProgress: ProgressFn): Promise<boolean> {
  const paths = environmentPaths(cacheDir, name);
  // The common case, nothing to do, needs no lock: the manifest is replaced atomically.
  const current = await cacheState(cacheDir, name);
  if (current.status !== "installed" || current.manifest.agent.sha256 === agent.sha256) return false;
  return withLock(paths.lock, async () => {
    const state = await cacheState(cacheDir, name);
    if (state.status !== "installed" || state.manifest.agent.sha256 === agent.sha256) return false;
    onProgress(pullLine("image", name, { reason: "agent_changed", agent: agent.sha256 }));
    await injectAgent(paths.rootfs, agent);
    const nextImage = `${paths.image}.next`;
    await rm(nextImage, { force: true });
    const image = await buildExt4Image(paths.rootfs, nextImage, state.manifest.rootfs.size_bytes + agent.sizeBytes);
    await rename(nextImage, paths.image);
    const manifest: EnvironmentManifest = {
      ...state.manifest,
      image: { sha256: await fileSha256(paths.image), size_bytes: image.sizeBytes, disk_bytes: image.diskBytes },
      agent: { ...state.manifest.agent, version: agent.version, sha256: agent.sha256, size_bytes: agent.sizeBytes },
    };
    const next = join(paths.dir, "manifest.json.next");
    await writeFile(next, `${JSON.stringify(manifest, null, 2)}\n`);
    const handle = await open(next, "r");
    await handle.sync();
    await handle.close();
    await rename(next, paths.manifest);
    return true;
  });
}
