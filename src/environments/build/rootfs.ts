import { chmod, copyFile, link, lstat, mkdir, readlink, unlink } from "node:fs/promises";
import { posix } from "node:path";
import { join } from "node:path";
import type { AgentBinary } from "../agent.js";

/** Where the agent lives in every environment. */
export const AGENT_GUEST_PATH = "/usr/local/sbin/pyro-agent";
/** The init path the kernel command line names; the same binary (it acts as init when PID 1). */
export const INIT_GUEST_PATH = "/sbin/pyro-init";

/**
 * Resolve a guest absolute path to its real location relative to the rootfs,
 * following symlinks of its parent directories inside the rootfs only
 * (merged /usr: `/sbin/x` is `usr/sbin/x`). The last component is not followed.
 */
export async function resolveGuestPath(rootfs: string, guestPath: string): Promise<string> {
  const parts = guestPath.split("/").filter(Boolean);
  const last = parts.pop();
  if (last === undefined) throw new Error(`not a file path: ${guestPath}`);
  let current: string[] = [];
  let budget = 40;
  const queue = [...parts];
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === "." || part === "") continue;
    if (part === "..") {
      current.pop();
      continue;
    }
    const candidate = [...current, part];
    let info;
    try {
      info = await lstat(join(rootfs, ...candidate));
    } catch {
      current = candidate;
      continue;
    }
    if (info.isSymbolicLink()) {
      if (--budget < 0) throw new Error(`too many symlinks resolving ${guestPath}`);
      const target = await readlink(join(rootfs, ...candidate));
      const targetParts = target.split("/").filter(Boolean);
      if (posix.isAbsolute(target)) current = [];
      queue.unshift(...targetParts);
    } else {
      current = candidate;
    }
  }
  return [...current, last].join("/");
}

/** Directories every environment provides, made before the tree digest (they are part of the artifact). */
export async function prepareRootfs(rootfs: string): Promise<void> {
  for (const dir of ["workspace", "run/pyro-secrets"]) {
    const path = join(rootfs, await resolveGuestPath(rootfs, `/${dir}`));
    await mkdir(path, { recursive: true });
    await chmod(path, dir === "workspace" ? 0o755 : 0o700);
  }
}

/** Relative rootfs paths of the injected agent and init (for exclusion from digests and layers). */
export async function agentRelPaths(rootfs: string): Promise<string[]> {
  return [await resolveGuestPath(rootfs, AGENT_GUEST_PATH), await resolveGuestPath(rootfs, INIT_GUEST_PATH)];
}

/**
 * Copy the agent into the rootfs at {@link AGENT_GUEST_PATH} (0755, root-owned)
 * and hard-link it as {@link INIT_GUEST_PATH}, replacing earlier copies.
 */
export async function injectAgent(rootfs: string, agent: AgentBinary): Promise<void> {
  const [agentRel, initRel] = await agentRelPaths(rootfs);
  const agentPath = join(rootfs, agentRel as string);
  const initPath = join(rootfs, initRel as string);
  await mkdir(posix.dirname(agentPath), { recursive: true });
  await mkdir(posix.dirname(initPath), { recursive: true });
  await unlink(agentPath).catch(() => undefined);
  await unlink(initPath).catch(() => undefined);
  await copyFile(agent.path, agentPath);
  await chmod(agentPath, 0o755);
  await link(agentPath, initPath);
}
