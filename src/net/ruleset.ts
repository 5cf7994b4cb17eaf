import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { cidrContains, parseCidr } from "./cidr.js";
import { BLOCKED_IPV4, BLOCKED_IPV6, EGRESS_TABLE, RESOLVER, SLIRP_DNS } from "./ranges.js";

/** What the egress filter of one machine's namespace lets through beyond the public internet. */
export interface EgressRules {
  /** CIDRs the user allowed explicitly (`--allow-cidr`); they pass before any block. */
  allowCidrs?: string[];
  /** The host's own addresses (refused like the private ranges); default: this host's interfaces. */
  hostAddresses?: string[];
  /**
   * An allow-list of names is in force: only the resolver's (marked) DNS
   * reaches the forwarder, and beyond `allowCidrs` only addresses the
   * resolver added to the sets pass; everything else is refused.
   */
  restrictToResolved?: boolean;
}

/** Every address of this host's interfaces, without zone ids. */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((entry) => entry.address.split("%")[0]!)
    .filter((address) => isIP(address) !== 0);
}

/**
 * The nftables ruleset applied inside a machine's own network namespace
 * (owned by the host, so the guest's root cannot change it): traffic to
 * the host, private, link-local, CGNAT and multicast destinations is
 * refused at once (TCP reset, ICMP admin-prohibited), DNS to the user-mode
 * stack's forwarder passes, everything else leaves through it. With
 * `restrictToResolved`, only the resolver's DNS passes, and what is not
 * blocked must be in a set of resolved addresses, else it is refused too: a
 * name that resolves to a blocked address stays blocked (no DNS rebinding
 * onto the host or a private network).
 */
export function egressRuleset(rules: EgressRules = {}): string {
  const allowed = rules.allowCidrs ?? [];
  const own = rules.hostAddresses ?? hostAddresses();
  // nft refuses overlapping elements in one set: a host address inside a blocked range is already blocked.
  const blocked = [...BLOCKED_IPV4, ...BLOCKED_IPV6].map((c) => parseCidr(c)!);
  const extra = own.filter((a) => {
    const host = parseCidr(a);
    return host !== null && !blocked.some((range) => cidrContains(range, host));
  });
  const v4 = [...BLOCKED_IPV4, ...new Set(extra.filter((a) => isIP(a) === 4))];
  const v6 = [...BLOCKED_IPV6, ...new Set(extra.filter((a) => isIP(a) === 6))];
  const allow4 = allowed.filter((c) => isIP(c.split("/")[0]!) === 4);
  const allow6 = allowed.filter((c) => isIP(c.split("/")[0]!) === 6);
  const t = EGRESS_TABLE;
  const restrict = rules.restrictToResolved === true;
  const dns = `ip daddr ${SLIRP_DNS} meta l4proto { tcp, udp } th dport 53 accept`;
  return [
    `table ${t.family} ${t.name} {`,
    ...(restrict
      ? [`  set ${t.set4} { type ipv4_addr; size ${t.size}; }`, `  set ${t.set6} { type ipv6_addr; size ${t.size}; }`]
      : []),
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    '    oifname "lo" accept',
    // Replies on connections opened from outside (published ports arrive from the stack's gateway, 10.0.2.2).
    "    ct state established,related accept",
    `    ${restrict ? `meta mark ${RESOLVER.mark} ` : ""}${dns}`,
    ...(allow4.length ? [`    ip daddr { ${allow4.join(", ")} } accept`] : []),
    ...(allow6.length ? [`    ip6 daddr { ${allow6.join(", ")} } accept`] : []),
    `    ip daddr { ${v4.join(", ")} } meta l4proto tcp reject with tcp reset`,
    `    ip daddr { ${v4.join(", ")} } reject with icmp type admin-prohibited`,
    `    ip6 daddr { ${v6.join(", ")} } meta l4proto tcp reject with tcp reset`,
    `    ip6 daddr { ${v6.join(", ")} } reject with icmpv6 type admin-prohibited`,
    ...(restrict
      ? [
          `    ip daddr @${t.set4} accept`,
          `    ip6 daddr @${t.set6} accept`,
          "    meta l4proto tcp reject with tcp reset",
          "    reject with icmpx type admin-prohibited",
        ]
      : []),
    "  }",
    "}",
    "",
  ].join("\n");
}
