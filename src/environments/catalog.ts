import { createHash } from "node:crypto";
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
    // python3: the original's environments carried it and its documents' examples use it.
    packages: ["git", "ca-certificates", "python3"],
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
    // The original's build profile: compilers, pkg-config, Python headers, curl.
    packages: ["git", "ca-certificates", "python3", "build-essential", "pkg-config", "python3-dev", "curl"],
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

/**
 * Short digest of what an entry is built from (suite and package set): part of
 * its cache directory's name, so a catalog that changes an entry's packages
 * installs beside the old build instead of over it (processes of an older pyro
 * keep using theirs; `env prune` removes whatever no current entry names).
 */
export function recipeDigest(entry: Pick<CatalogEntry, "suite" | "packages">): string {
  const recipe = JSON.stringify({ suite: entry.suite, packages: [...entry.packages].sort() });
  return createHash("sha256").update(recipe).digest("hex").slice(0, 10);
}

/** A name made safe for a file name (`debian:12` → `debian_12`); any name, catalog entry or not. */
export function pathSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * Directory name of a catalog environment in the cache: the name made
 * path-safe plus its recipe digest (`debian:12` → `debian_12.6bf6c6de97`).
 */
export function cacheDirName(name: string): string {
  return `${pathSafeName(name)}.${recipeDigest(catalogEntry(name))}`;
}
