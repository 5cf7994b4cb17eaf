import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";
import type { PyroConfig } from "../../util/config.js";
import type { RegistryCredentials } from "../oci/auth.js";

/** Where credentials for a registry came from (said in errors; the values never are). */
export type CredentialSource = "PYRO_REGISTRY_AUTH" | "docker_config" | null;

/** Registry keys a docker config may use for `domain`: `host`, `https://host`, `http://host`, and Docker Hub's legacy URL. */
function keysFor(domain: string): string[] {
  const keys = [domain, `https://${domain}`, `http://${domain}`, `https://${domain}/v1/`, `https://${domain}/v2/`];
  if (domain === "docker.io") keys.push("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io");
  return keys;
}

/** `PYRO_REGISTRY_AUTH`: whitespace separated `host=user:password` entries. */
function fromVariable(value: string | undefined, domain: string): RegistryCredentials | undefined {
  for (const entry of (value ?? "").split(/\s+/).filter(Boolean)) {
    const eq = entry.indexOf("=");
    const colon = entry.indexOf(":", eq + 1);
    if (eq <= 0 || colon < 0) {
      throw new PyroError("invalid_argument", "PYRO_REGISTRY_AUTH has an entry that is not HOST=USER:PASSWORD", {
        hint: "write PYRO_REGISTRY_AUTH as whitespace separated HOST[:PORT]=USER:PASSWORD entries",
      });
    }
    if (entry.slice(0, eq) === domain) return { username: entry.slice(eq + 1, colon), password: entry.slice(colon + 1) };
  }
  return undefined;
}

/** `auths[…].auth` (base64 `user:password`) of the user's docker config, if it has one for `domain`. */
function fromDockerConfig(env: NodeJS.ProcessEnv, domain: string): RegistryCredentials | undefined {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as typeof parsed;
  } catch {
    return undefined;
  }
  for (const key of keysFor(domain)) {
    const entry = parsed.auths?.[key];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (!entry.auth) continue;
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/**
 * Credentials for the registry `domain` (as written in references): from
 * `PYRO_REGISTRY_AUTH` first, else from `auths` of `$DOCKER_CONFIG/config.json`
 * (default `~/.docker/config.json`). Credential helpers are not run.
 */
export function registryCredentials(config: Pick<PyroConfig, "env" | "oci">, domain: string): { credentials?: RegistryCredentials; source: CredentialSource } {
  const variable = fromVariable(config.oci.registryAuth, domain);
  if (variable) return { credentials: variable, source: "PYRO_REGISTRY_AUTH" };
  const docker = fromDockerConfig(config.env, domain);
  return docker ? { credentials: docker, source: "docker_config" } : { source: null };
}
