import { posix } from "node:path";
import type { AgentClient } from "../../agent-client/index.js";
import { PyroError } from "../../util/errors.js";

/** Where every environment has the guest agent (environments/build/rootfs.ts), which resolves paths like `realpath -m`. */
const AGENT_GUEST_PATH = "/usr/local/sbin/pyro-agent";

/** The guest directory every workspace operation is confined to. */
export const WORKSPACE_ROOT = "/workspace";

/** Whether a normalised absolute guest path is /workspace or below it. */
export function isUnderWorkspace(path: string): boolean {
  return path === WORKSPACE_ROOT || path.startsWith(`${WORKSPACE_ROOT}/`);
}

/**
 * Resolve a user-given guest path lexically: relative paths are relative to
 * /workspace; the result must stay at or under /workspace.
 */
export function workspacePath(input: string, what: string): string {
  if (input.includes("\0")) throw new PyroError("invalid_argument", `${what} contains a NUL byte`);
  const resolved = posix.resolve(WORKSPACE_ROOT, input);
  if (!isUnderWorkspace(resolved)) {
    throw new PyroError("invalid_argument", `${what} ${JSON.stringify(input)} resolves to ${resolved}, outside ${WORKSPACE_ROOT}`, {
      hint: `give a path under ${WORKSPACE_ROOT} (relative paths are relative to it)`,
    });
  }
  return resolved;
}

/**
 * Check in the guest that `path` does not leave /workspace through a symlink
 * (a link made by a command in the workspace). The lexical check already ran.
 */
export async function checkResolvesInside(client: AgentClient, path: string, what: string): Promise<void> {
  if (path === WORKSPACE_ROOT) return;
  // argv, not a shell line: the path is never parsed by a shell.
  const resolve = (argv: string[]) =>
    client.exec({ argv, cwd: "/", env: {}, timeout_ms: 10_000, max_output_bytes: 16 * 1024 }, { maxBufferedBytes: 16 * 1024 }).catch((error: unknown) => {
      // No such program in the guest (an OCI image without coreutils): the agent's own resolver answers below.
      if (error instanceof PyroError && /not found/i.test(error.message)) return null;
      throw error;
    });
  let checked = await resolve(["realpath", "-m", "--", path]);
  // busybox's realpath has no -m: the agent, which every guest has, resolves the same way.
  if (!checked || checked.exit_code !== 0) checked = (await resolve([AGENT_GUEST_PATH, "--realpath", path])) ?? checked;
  if (!checked) throw new PyroError("guest_failure", `cannot resolve ${path} in the guest: no realpath and no pyro agent at ${AGENT_GUEST_PATH}`);
  const real = checked.stdout.trim();
  if (checked.exit_code !== 0 || !real.startsWith("/")) {
    throw new PyroError("guest_failure", `cannot resolve ${path} in the guest: ${checked.stderr.trim() || `exit ${checked.exit_code}`}`);
  }
  if (!isUnderWorkspace(real)) {
    throw new PyroError("invalid_argument", `${what} ${path} leads outside ${WORKSPACE_ROOT} through a symlink (to ${real})`, {
      hint: `give a path whose directories are not symlinks out of ${WORKSPACE_ROOT}`,
    });
  }
}
