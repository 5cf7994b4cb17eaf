import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers/env.js";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist") continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Build what the suites run for real: the static guest agent (when its
 * sources changed). Environments are built lazily by the suites that need them,
 * into the shared test cache, once per machine.
 */
export default function setup(): void {
  const agentDir = join(REPO_ROOT, "agent");
  const binary = join(agentDir, "dist", "pyro-agent");
  if (existsSync(join(agentDir, "cmd", "pyro-agent")) && (!existsSync(binary) || statSync(binary).mtimeMs < newestMtime(agentDir))) {
    execFileSync("npm", ["run", "--silent", "build:agent"], { cwd: REPO_ROOT, stdio: "inherit" });
  }
}
