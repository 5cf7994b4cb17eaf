import { resolveConfig, type PyroConfig } from "../../util/config.js";
import type { CatalogEntry } from "../types.js";
import { runTool } from "../exec.js";

/** The configured Debian mirror to build from (`PYRO_DEBIAN_MIRROR`), else mmdebstrap's default (deb.debian.org). */
function mirrorArgs(config: PyroConfig): string[] {
  return config.debianMirror ? [config.debianMirror] : [];
}

/**
 * Build the root filesystem of `entry` into `targetDir` (must not exist yet)
 * from Debian's archive: the minbase variant plus the entry's packages.
 * As root mmdebstrap keeps owners and device nodes; as a user it falls back to its unshare mode.
 */
export async function buildRootfs(
  entry: CatalogEntry,
  targetDir: string,
  onLine: (line: string) => void,
  config: PyroConfig = resolveConfig(),
): Promise<void> {
  const include = entry.packages.length > 0 ? [`--include=${entry.packages.join(",")}`] : [];
  await runTool(
    "mmdebstrap",
    ["--variant=minbase", "--format=directory", ...include, entry.suite, targetDir, ...mirrorArgs(config)],
    {
      env: { ...config.env, LC_ALL: "C.UTF-8" },
      onStderrLine: onLine,
      missingHint: "install it (`apt-get install mmdebstrap`), or pull a prebuilt environment by setting PYRO_OCI_REGISTRY",
    },
  );
}
