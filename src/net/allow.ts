import { isIP } from "node:net";
import { PyroError } from "../util/errors.js";
import { cidrContains, cidrText, parseCidr } from "./cidr.js";

/**
 * A machine's allow-lists, on top of the `egress` policy. `cidrs` are
 * reachable even inside blocked ranges; when `hosts` is not empty the guest
 * may resolve and reach only those names (and `cidrs`).
 */
export interface AllowList {
  /** Host names, lower case; `*.example.com` matches every name below example.com. */
  hosts: string[];
  /** CIDRs in network form (`10.1.2.0/24`), none inside another. */
  cidrs: string[];
}

/** Most entries in each allow-list. */
export const MAX_ALLOW_ENTRIES = 64;

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOST_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)*${LABEL}$`);

/**
 * Check and normalise the allow-lists asked for a machine of `policy`:
 * PyroError `invalid_argument` naming the fix for an allow-list without
 * egress, a malformed name or CIDR, or too many entries.
 */
export function checkAllowList(policy: string, hosts: readonly string[] = [], cidrs: readonly string[] = []): AllowList {
  if (hosts.length === 0 && cidrs.length === 0) return { hosts: [], cidrs: [] };
  if (policy === "off") {
    const flags = [hosts.length ? "--allow-host" : "", cidrs.length ? "--allow-cidr" : ""].filter(Boolean).join(" and ");
    throw new PyroError("invalid_argument", `${flags} (allow_hosts / allow_cidrs) need a network: the machine's network policy is off`, {
      hint: "add --network (run; network: true) or --network-policy egress (workspace create; network_policy: \"egress\")",
    });
  }
  for (const [what, list] of [["allow_hosts", hosts], ["allow_cidrs", cidrs]] as const) {
    if (list.length > MAX_ALLOW_ENTRIES) {
      throw new PyroError("invalid_argument", `${what} has ${list.length} entries; at most ${MAX_ALLOW_ENTRIES} are allowed`, {
        hint: "use wildcards (*.example.com) or wider CIDRs",
      });
    }
  }
  const names = hosts.map((host) => {
    const name = host.trim().toLowerCase().replace(/\.$/, "");
    if (isIP(name) !== 0) {
      throw new PyroError("invalid_argument", `--allow-host takes a host name, got the address ${JSON.stringify(host)}`, { hint: `use --allow-cidr ${name}` });
    }
    if (name.length > 253 || !HOST_PATTERN.test(name)) {
      throw new PyroError("invalid_argument", `--allow-host ${JSON.stringify(host)} is not a host name`, {
        hint: "give a name like api.example.com, or *.example.com for every name below example.com",
      });
    }
    return name;
  });
  const parsed = cidrs.map((text) => {
    const cidr = parseCidr(text.trim());
    if (!cidr) {
      throw new PyroError("invalid_argument", `--allow-cidr ${JSON.stringify(text)} is not a CIDR`, {
        hint: "give an address with an optional prefix length, like 10.1.2.0/24, 192.0.2.7 or 2001:db8::/32",
      });
    }
    return cidr;
  });
  // The filter's sets refuse overlapping elements: keep only the widest of nested CIDRs.
  const widest = parsed.filter((c, i) => !parsed.some((other, j) => j !== i && cidrContains(other, c) && (other.prefix < c.prefix || j < i)));
  return { hosts: [...new Set(names)], cidrs: [...new Set(widest.map(cidrText))] };
}

/** Whether an allow-list restricts the guest to its names (a resolver runs, everything else is refused). */
export function restrictsNames(allow: AllowList | undefined): boolean {
  return (allow?.hosts.length ?? 0) > 0;
}
