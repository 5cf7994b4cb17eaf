import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** Whether `path` is a regular file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Find an executable: `override` when given (a configured path, or a bare
 * name looked up on PATH), else `name` on the PATH of `env`. Undefined when
 * not found.
 */
export function findBinary(name: string, override: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (override !== undefined && override !== "") {
    if (isAbsolute(override) || override.includes("/")) return isExecutable(override) ? override : undefined;
    return searchPath(override, env);
  }
  return searchPath(name, env);
}

function searchPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}
