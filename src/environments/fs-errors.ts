import { PyroError } from "../util/errors.js";
import { ToolFailure } from "./exec.js";

function errnoOf(error: unknown): string | undefined {
  if (error instanceof ToolFailure) return error.noSpace ? "ENOSPC" : error.notWritable ? "EROFS" : undefined;
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Turn a host filesystem error met while writing the cache into a PyroError
 * with a fix; anything that is not an errno error is returned unchanged.
 */
export function cacheWriteError(error: unknown, cacheDir: string): unknown {
  if (error instanceof PyroError) return error;
  const code = errnoOf(error);
  const path = (error as NodeJS.ErrnoException | undefined)?.path ?? cacheDir;
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new PyroError("io_error", `no space left in the environment cache (${path})`, {
        hint: `free disk space (\`pyro env prune\` removes stale entries) or point PYRO_ENVIRONMENT_CACHE_DIR at a larger disk; ${cacheDir} needs ~1 GiB per environment`,
        details: { path, errno: code },
        cause: error,
      });
    case "EROFS":
    case "EACCES":
    case "EPERM":
      return new PyroError("io_error", `the environment cache is not writable (${code} at ${path})`, {
        hint: `make ${cacheDir} writable by this user, or set PYRO_ENVIRONMENT_CACHE_DIR to a writable directory`,
        details: { path, errno: code },
        cause: error,
      });
    default:
      if (error instanceof ToolFailure) {
        return new PyroError("io_error", error.message, {
          hint: "see the tool output above; the partial environment was discarded, so pulling again is safe",
          cause: error,
        });
      }
      return error;
  }
}
