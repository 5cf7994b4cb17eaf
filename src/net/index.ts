export { BLOCKED_IPV4, BLOCKED_IPV6, SLIRP_DNS, SLIRP_GUEST } from "./ranges.js";
export { cidrContains, parseCidr, type Cidr } from "./cidr.js";
export { egressRuleset, hostAddresses, type EgressRules } from "./ruleset.js";
export { NET_SIGNAL_FD, netStage } from "./launch.js";
export { slirpForward, startSlirp, type SlirpProcess, type StartSlirpOptions } from "./slirp.js";
export { prepareNetworkFiles, type NetworkFiles } from "./files.js";
export { networkSupport } from "./availability.js";
export { AUTO_PORT_ATTEMPTS, freeHostPort, HOST_PORT_RANGE, hostPortFree, portInUse, reforward } from "./host-ports.js";
