/**
 * Destinations a networked guest may never reach unless the user allows a
 * CIDR explicitly: the host's loopback and the user-mode stack's host alias
 * (inside 10/8), private, CGNAT, link-local (cloud metadata at
 * 169.254.169.254), multicast and reserved ranges; for IPv6 loopback, ULA,
 * link-local and multicast.
 */
export const BLOCKED_IPV4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
] as const;

/** The IPv6 ranges of {@link BLOCKED_IPV4}'s kind. */
export const BLOCKED_IPV6 = ["::1/128", "fc00::/7", "fe80::/10", "ff00::/8"] as const;

/** The user-mode stack's DNS forwarder, the one blocked address a guest may use (port 53 only). */
export const SLIRP_DNS = "10.0.2.3";

/** The guest side of the user-mode stack: its address and gateway. */
export const SLIRP_GUEST = { address: "10.0.2.100", gateway: "10.0.2.2", prefix: 24 } as const;

/**
 * The allow-list resolver inside a machine's namespace (on its loopback), and
 * the socket mark of its upstream queries: the filter lets only marked DNS
 * reach {@link SLIRP_DNS}, so a guest cannot ask the forwarder directly.
 */
export const RESOLVER = { address: "127.0.0.1", port: 53, mark: 0x7079726f } as const;

/** The nftables table of the egress filter, and the sets of addresses the resolver resolved for allowed names. */
export const EGRESS_TABLE = { family: "inet", name: "pyro_egress", set4: "allowed4", set6: "allowed6", size: 65536 } as const;
