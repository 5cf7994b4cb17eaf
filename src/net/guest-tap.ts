import { writeFile } from "node:fs/promises";
import { SLIRP_DNS } from "./ranges.js";
import { egressRuleset, type EgressRules } from "./ruleset.js";

/**
 * The link between a VM whose VMM has no user-mode network of its own
 * (Firecracker: a TAP device only) and the user-mode stack of its machine
 * namespace: the TAP's namespace side and the guest's address. A /24 apart
 * from the stack's 10.0.2.0/24, inside 10/8 so the egress filter refuses
 * both to the guest as destinations.
 */
export const GUEST_TAP = { namespaceAddress: "10.0.3.1", guestAddress: "10.0.3.2", prefix: 24 } as const;

/** The guest's eth0 configuration for the kernel command line (`pyro.net=`): DNS is the stack's forwarder, reached through the TAP. */
export const GUEST_TAP_NET = {
  address: `${GUEST_TAP.guestAddress}/${GUEST_TAP.prefix}`,
  gateway: GUEST_TAP.namespaceAddress,
  dns: SLIRP_DNS,
} as const;

/** The user-mode stack's device in the namespace (slirp4netns `tap0`). */
const STACK_DEVICE = "tap0";

/**
 * The nftables ruleset of a routed guest, loaded in its machine namespace
 * after the namespace's own egress filter:
 *
 * - `pyro_guest_forward`: the egress filter itself (the very rules of
 *   {@link egressRuleset}, with the same allow-lists), on the forward hook,
 *   where the guest's routed packets pass (the output hook sees only the
 *   namespace's own);
 * - `pyro_guest_input`: the guest opens nothing to the namespace itself
 *   (replies to its own connections only);
 * - `pyro_guest_nat`: the guest's packets leave through the stack's device
 *   masqueraded as the stack's own address, the one the stack answers; with
 *   `publish`, TCP connections that arrive new on the stack's device (only the
 *   stack's host forwards, `add_hostfwd`, make any) go to the guest, and the
 *   forward filter lets exactly those in.
 */
export function guestTapRuleset(tap: string, rules: EgressRules = {}, options: { publish?: boolean } = {}): string {
  const established = "    ct state established,related accept\n";
  let forward = egressRuleset(rules)
    .replace("table inet pyro_egress {", "table inet pyro_guest_forward {")
    .replace("chain output {", "chain forward {")
    .replace("type filter hook output priority 0;", "type filter hook forward priority 0;");
  if (!forward.includes("hook forward") || !forward.includes(established)) {
    throw new Error("the egress ruleset changed shape: cannot derive the guest's forward filter");
  }
  if (options.publish) forward = forward.replace(established, `${established}    iifname "${STACK_DEVICE}" oifname "${tap}" ct status dnat accept\n`);
  return [
    forward.trimEnd(),
    "table inet pyro_guest_input {",
    "  chain input {",
    "    type filter hook input priority 0; policy accept;",
    `    iifname "${tap}" ct state established,related accept`,
    `    iifname "${tap}" meta l4proto tcp reject with tcp reset`,
    `    iifname "${tap}" drop`,
    "  }",
    "}",
    "table ip pyro_guest_nat {",
    ...(options.publish
      ? ["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;", `    iifname "${STACK_DEVICE}" meta l4proto tcp dnat to ${GUEST_TAP.guestAddress}`, "  }"]
      : []),
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    oifname "${STACK_DEVICE}" ip saddr ${GUEST_TAP.guestAddress} masquerade`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Write {@link guestTapRuleset} to `file` (0600, in the machine directory). */
export async function prepareGuestTapRules(file: string, tap: string, rules: EgressRules = {}, options: { publish?: boolean } = {}): Promise<string> {
  await writeFile(file, guestTapRuleset(tap, rules, options), { mode: 0o600 });
  return file;
}

// Runs inside the machine namespace after the net stage (the stack is up and
// the egress filter loaded): makes the VMM's TAP owned by the uid the VMM will
// run as, addresses it, turns on forwarding for this namespace only, loads the
// guest's forward/NAT rules, then becomes the VMM.
const TAP_STAGE =
  'tap=$1; rules=$2; uid=$3; gid=$4; shift 4; ' +
  'ip tuntap add dev "$tap" mode tap ${uid:+user "$uid"} ${gid:+group "$gid"} || { echo "pyro: cannot create the TAP device $tap" >&2; exit 125; }; ' +
  `ip addr add ${GUEST_TAP.namespaceAddress}/${GUEST_TAP.prefix} dev "$tap" && ip link set "$tap" up || { echo "pyro: cannot configure $tap" >&2; exit 125; }; ` +
  'echo 1 > /proc/sys/net/ipv4/ip_forward || { echo "pyro: cannot enable forwarding in the machine namespace" >&2; exit 125; }; ' +
  'nft -f "$rules" || { echo "pyro: cannot load the guest rules $rules" >&2; exit 125; }; exec "$@"';

/**
 * The argv stage (after {@link netStage}, inside the machine namespace) that
 * creates the VMM's TAP device `tap` there (never in the host's namespace),
 * owned by `owner` when the VMM drops to it (the jailer), routes and NATs
 * it to the user-mode stack, and then runs the rest of the argv.
 */
export function guestTapStage(tap: string, rulesFile: string, owner?: { uid: number; gid: number }): string[] {
  return ["/bin/sh", "-c", TAP_STAGE, "pyro-tap", tap, rulesFile, owner ? String(owner.uid) : "", owner ? String(owner.gid) : ""];
}
