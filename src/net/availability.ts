import { findBinary } from "../util/binaries.js";

let cached: string | undefined;

/**
 * Which network policies a backend can give its machines on this host, for
 * `doctor`: every policy when slirp4netns, nft and ip are installed, else
 * `off` only, with what to install.
 */
export function networkSupport(): string {
  cached ??= networkSupportOn(process.env);
  return cached;
}

/** {@link networkSupport} for the PATH of `env`, not cached. */
export function networkSupportOn(env: NodeJS.ProcessEnv): string {
  // A PATH lookup in this process: every backend's availability asks, on every command (three `sh -c command -v` cost ~10 ms).
  const missing = ["slirp4netns", "nft", "ip"].filter((tool) => findBinary(tool, undefined, env) === undefined);
  return missing.length === 0
    ? "off, egress, egress+published-ports, allow-lists (own namespace, slirp4netns behind an nftables egress filter)"
    : `off only: missing ${missing.join(", ")} (apt-get install slirp4netns nftables iproute2)`;
}
