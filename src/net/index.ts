export { BLOCKED_IPV4, BLOCKED_IPV6, EGRESS_TABLE, RESOLVER, SLIRP_DNS, SLIRP_GUEST } from "./ranges.js";
export { cidrContains, cidrText, parseCidr, type Cidr } from "./cidr.js";
export { checkAllowList, MAX_ALLOW_ENTRIES, restrictsNames, type AllowList } from "./allow.js";
export { egressRuleset, hostAddresses, type EgressRules } from "./ruleset.js";
export { NET_SIGNAL_FD, netStage, type NetStageOptions } from "./launch.js";
export { slirpForward, startSlirp, type SlirpProcess, type StartSlirpOptions } from "./slirp.js";
export { networkFiles, prepareNetworkFiles, type NetworkFiles } from "./files.js";
export { networkSupport } from "./availability.js";
export { spawnInNetNamespace, type SpawnInNetNamespaceOptions } from "./spawn-in-namespace.js";
