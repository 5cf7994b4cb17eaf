import { spawnSync } from "node:child_process";

let cached: string | undefined;

/**
 * Which network policies a backend can give its machines on this host, for
 * `doctor`: every policy when slirp4netns, nft and ip are installed, else
 * `off` only, with what to install.
 */
export function networkSupport(): string {
  if (cached !== undefined) return cached;
  const missing = ["slirp4netns", "nft", "ip"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  cached =
    missing.length === 0
      ? "off, egress, egress+published-ports, allow-lists (own namespace, slirp4netns behind an nftables egress filter)"
      : `off only: missing ${missing.join(", ")} (apt-get install slirp4netns nftables iproute2)`;
  return cached;
}
