import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { workspaceFiles } from "./layout.js";

/**
 * Remove the `.partial` archives a killed process left in a workspace's
 * directory and its snapshots (a half-written baseline can be hundreds of
 * megabytes). Caller holds the workspace lock, so none is being written.
 */
export async function removePartials(workspaceDir: string): Promise<void> {
  for (const dir of [workspaceDir, workspaceFiles(workspaceDir).snapshots]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(".partial"))) await rm(join(dir, name), { force: true });
  }
}
