/**
 * The guest-boot module shared by every VM backend: the kernel command line
 * (keys, transport, rendering) and the identity step. See cmdline.ts and
 * identity.ts; protocol/boot/vectors.json pins both sides.
 */
export { BOOT_KEYS, checkHostname, renderCmdline, type AgentTransport, type GuestBootArgs, type GuestNet } from "./cmdline.js";
export { activateGuest, activateRequest, type GuestIdentity } from "./identity.js";
