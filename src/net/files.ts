import { writeFile } from "node:fs/promises";
import { SLIRP_DNS } from "./ranges.js";
import { egressRuleset, type EgressRules } from "./ruleset.js";

/** The files a networked machine's namespace is set up from. */
export interface NetworkFiles {
  rulesFile: string;
  resolvConf: string;
}

/** Write the egress filter and the guest's resolver configuration (0600, in the machine directory). */
export async function prepareNetworkFiles(files: NetworkFiles, rules: EgressRules = {}): Promise<NetworkFiles> {
  await writeFile(files.rulesFile, egressRuleset(rules), { mode: 0o600 });
  await writeFile(files.resolvConf, `nameserver ${SLIRP_DNS}\n`, { mode: 0o644 });
  return files;
}
