/**
 * The launcher's descriptor on which the stage inside a machine's fresh
 * network namespace tells the host that the namespace exists; the host
 * then hands the same socket to the user-mode stack as its exit fd, so the
 * stack ends when the last process of the machine does.
 */
export const NET_SIGNAL_FD = 6;

// Runs inside the new namespace, before the machine: says so, waits until the
// user-mode stack has configured it (a default route), loads the egress filter
// while still outside the guest's reach, then becomes the machine.
const NET_STAGE =
  'echo netns >&6 || exit 125; n=0; until ip route show default 2>/dev/null | grep -q .; do n=$((n + 1)); ' +
  'if [ "$n" -gt 1500 ]; then echo "pyro: the machine network did not come up" >&2; exit 125; fi; sleep 0.01; done; ' +
  'nft -f "$1" || { echo "pyro: cannot load the egress filter $1" >&2; exit 125; }; shift; exec "$@"';

/**
 * The argv prefix that prepares a machine's network namespace (created by
 * the launcher's `unshare --net`) and then runs the rest of the argv.
 */
export function netStage(rulesFile: string): string[] {
  return ["/bin/sh", "-c", NET_STAGE, "pyro-net", rulesFile];
}
