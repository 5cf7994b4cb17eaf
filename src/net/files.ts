import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { restrictsNames, type AllowList } from "./allow.js";
import { EGRESS_TABLE, RESOLVER, SLIRP_DNS } from "./ranges.js";
import { egressRuleset, type EgressRules } from "./ruleset.js";

/** The files a networked machine's namespace is set up from, all in its machine directory. */
export interface NetworkFiles {
  rulesFile: string;
  /** The resolver configuration the guest sees (`/etc/resolv.conf` of a sandbox). */
  resolvConf: string;
  /**
   * The resolver configuration of the machine's own host-side processes in
   * the namespace (bound over their `/etc/resolv.conf`): QEMU's user-mode
   * network forwards the guest's DNS to the nameserver it names.
   */
  hostResolvConf: string;
  /** The allow-list resolver's configuration and log, when an allow-list of names is in force. */
  resolver?: { config: string; log: string };
  /** slirp4netns's API socket (its command line names it: teardown finds the process by it) and log. */
  slirpSocket: string;
  slirpLog: string;
}

/** The network files of the machine directory `dir`. */
export function networkFiles(dir: string): Omit<NetworkFiles, "resolver"> {
  return {
    rulesFile: join(dir, "egress.nft"),
    resolvConf: join(dir, "resolv.conf"),
    hostResolvConf: join(dir, "resolv.host.conf"),
    slirpSocket: join(dir, "slirp.sock"),
    slirpLog: join(dir, "slirp.log"),
  };
}

/**
 * Write the egress filter, the resolver configurations and, with an
 * allow-list of names, the allow-list resolver's configuration (0600 where
 * only pyro reads them).
 */
export async function prepareNetworkFiles(dir: string, allow?: AllowList, rules: Omit<EgressRules, "allowCidrs" | "restrictToResolved"> = {}): Promise<NetworkFiles> {
  const files: NetworkFiles = networkFiles(dir);
  const restrict = restrictsNames(allow);
  await writeFile(files.rulesFile, egressRuleset({ ...rules, allowCidrs: allow?.cidrs ?? [], restrictToResolved: restrict }), { mode: 0o600 });
  // With an allow-list every name goes through the resolver on the namespace's loopback; else straight to the stack's forwarder.
  const nameserver = restrict ? RESOLVER.address : SLIRP_DNS;
  await writeFile(files.resolvConf, `nameserver ${nameserver}\n`, { mode: 0o644 });
  await writeFile(files.hostResolvConf, `nameserver ${nameserver}\n`, { mode: 0o644 });
  if (restrict) {
    files.resolver = { config: join(dir, "dns-allow.json"), log: join(dir, "dns-allow.log") };
    const config = {
      listen: `${RESOLVER.address}:${RESOLVER.port}`,
      upstream: `${SLIRP_DNS}:53`,
      hosts: allow!.hosts,
      mark: RESOLVER.mark,
      table: `${EGRESS_TABLE.family} ${EGRESS_TABLE.name}`,
      set4: EGRESS_TABLE.set4,
      set6: EGRESS_TABLE.set6,
    };
    await writeFile(files.resolver.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }
  return files;
}
