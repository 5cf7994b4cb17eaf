import { homedir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Root of pyro's mutable state: VM and workspace records (`PYRO_STATE_DIR`). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.PYRO_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "pyro-mcp"));
}

/** Root of the environment cache (`PYRO_ENVIRONMENT_CACHE_DIR`). */
export function environmentCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(
    env.PYRO_ENVIRONMENT_CACHE_DIR ??
      join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "pyro-mcp", "environments"),
  );
}

/** The package root: the directory holding package.json, from src/ or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("pyro-mcp package root not found");
    dir = parent;
  }
  return dir;
}

/**
 * The static guest agent binary: `PYRO_AGENT_BIN`, else the one built into
 * `agent/dist/` (shipped in the npm package, or built by `npm run build:agent`).
 */
export function agentBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PYRO_AGENT_BIN ?? join(packageRoot(), "agent", "dist", "pyro-agent");
}

/** The version in the package's package.json (works from src/, dist/ and the bundled CLI). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}
