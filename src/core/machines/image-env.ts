import type { InstalledEnvironment } from "../../environments/index.js";

/**
 * The environment variables an OCI image's config (`Env`) gives every
 * process of its machines, as a map; empty for catalog environments. An
 * image with a non-root `User` adds that user's `HOME` (from its
 * /etc/passwd) under its `Env`, as its processes run as that user. The
 * caller's own variables (request `env`, secrets) are laid over it.
 */
export function imageEnv(environment: Pick<InstalledEnvironment, "image">): Record<string, string> {
  const home = environment.image?.run_as?.home;
  const env: Record<string, string> = home ? { HOME: home } : {};
  for (const pair of environment.image?.env ?? []) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

