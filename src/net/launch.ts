/**
 * The launcher's descriptor on which the stage inside a machine's fresh
 * network namespace tells the host that the namespace exists; the host
 * then hands the same socket to the user-mode stack as its exit fd, so the
 * stack ends when the last process of the machine does.
 */
export const NET_SIGNAL_FD = 6;

// Runs inside the new namespace, before the machine: says so, waits until the
// user-mode stack has configured it (a default route), loads the egress filter
// while still outside the guest's reach, binds the host-side resolver
// configuration (needs a mount namespace; QEMU's DNS forwarding reads it),
// starts the allow-list resolver and waits for it to serve, then becomes the
// machine. The resolver keeps none of the launcher's descriptors (fd 3-6 are
// the sandbox's info, ready and agent sockets and the stack's exit fd), and
// dies with the launcher (it is its parent: PR_SET_PDEATHSIG).
// $1 rules, $2 host resolv.conf or "", $3 resolver binary or "", $4 its config, $5 its log.
const NET_STAGE =
  'echo netns >&6 || exit 125; n=0; until ip route show default 2>/dev/null | grep -q .; do n=$((n + 1)); ' +
  'if [ "$n" -gt 1500 ]; then echo "pyro: the machine network did not come up" >&2; exit 125; fi; sleep 0.01; done; ' +
  'nft -f "$1" || { echo "pyro: cannot load the egress filter $1" >&2; exit 125; }; ' +
  // Not fatal: without it QEMU forwards DNS to the host's nameserver, which the filter refuses unless public (and always under an allow-list).
  'if [ -n "$2" ]; then mount --bind "$2" /etc/resolv.conf || echo "pyro: cannot bind $2 over /etc/resolv.conf; DNS may not work" >&2; fi; ' +
  'if [ -n "$3" ]; then "$3" --dns-allow "$4" --parent $$ <&- >"$5" 2>&1 3>&- 4>&- 5>&- 6>&- & r=$!; n=0; ' +
  'until grep -q "^ready" "$5" 2>/dev/null; do n=$((n + 1)); ' +
  'if [ "$n" -gt 1000 ] || ! kill -0 "$r" 2>/dev/null; then echo "pyro: the allow-list resolver did not start: $(tail -n 3 "$5")" >&2; exit 125; fi; sleep 0.01; done; fi; ' +
  'shift 5; exec "$@"';

/** What {@link netStage} sets up besides the egress filter. */
export interface NetStageOptions {
  rulesFile: string;
  /** Bound over `/etc/resolv.conf` for the machine's host-side processes (the launcher must have a mount namespace). */
  hostResolvConf?: string;
  /** The allow-list resolver: the agent binary, run with `--dns-allow config`, logging to `log`. */
  resolver?: { binary: string; config: string; log: string };
}

/**
 * The argv prefix that prepares a machine's network namespace (created by
 * the launcher's `unshare --net`) and then runs the rest of the argv.
 */
export function netStage(options: NetStageOptions): string[] {
  const r = options.resolver;
  return ["/bin/sh", "-c", NET_STAGE, "pyro-net", options.rulesFile, options.hostResolvConf ?? "", r?.binary ?? "", r?.config ?? "", r?.log ?? ""];
}
