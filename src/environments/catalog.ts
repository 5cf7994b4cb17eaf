import { PyroError } from "../util/errors.js";
import type { CatalogEntry } from "./types.js";

/** Version of the shipped environment catalog (follows the pyro contract version). */
export const CATALOG_VERSION = "3.1.0";

/**
 * Registry host the catalog's OCI references live on, used when
 * `PYRO_OCI_REGISTRY` is unset. Null while no official artifacts are
 * published: pulls then build locally from Debian's archive.
 */
export const DEFAULT_OCI_REGISTRY: string | null = null;

/** The curated environments, in display order. */
export const CATALOG: readonly CatalogEntry[] = [
  {
    name: "debian:12",
    description: "Debian 12 environment with Git preinstalled for common agent workflows.",
    suite: "bookworm",
    packages: ["git", "ca-certificates"],
    oci: "pyro/debian:12",
  },
  {
    name: "debian:12-base",
    description: "Minimal Debian 12 environment for shell and core Unix tooling.",
    suite: "bookworm",
    packages: [],
    oci: "pyro/debian:12-base",
  },
  {
    name: "debian:12-build",
    description: "Debian 12 environment with Git and common build tools preinstalled.",
    suite: "bookworm",
    packages: ["git", "ca-certificates", "build-essential"],
    oci: "pyro/debian:12-build",
  },
];

/** Names of all catalog environments. */
export function catalogNames(): string[] {
  return CATALOG.map((entry) => entry.name);
}

/** The catalog entry called `name`; PyroError `not_found` listing valid names otherwise. */
export function catalogEntry(name: string): CatalogEntry {
  const entry = CATALOG.find((candidate) => candidate.name === name);
  if (!entry) {
    throw new PyroError("not_found", `unknown environment ${JSON.stringify(name)}`, {
      hint: `choose one of: ${catalogNames().join(", ")} (see \`pyro env list\`)`,
      details: { environment: name, valid: catalogNames() },
    });
  }
  return entry;
}

/** Directory name of an environment in the cache (`debian:12` → `debian_12`). */
export function cacheDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}
