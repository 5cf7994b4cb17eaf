/**
 * The `/init` lines that read `pyro.probe` from `$cmdline` (the boot keys are
 * defined in src/runtime/guest-boot; test/guest-boot/init-script.test.ts runs
 * these lines against protocol/boot/vectors.json).
 */
export const INIT_PROBE = `case " $cmdline " in
  *" pyro.probe "*) echo "pyro-probe-ok"; poweroff -f ;;
esac
`;

/**
 * The `/init` lines that set its defaults and read the pyro keys from
 * `$cmdline` into `root`, `rootfstype`, `init`, `init_args`, `net`,
 * `skip_modules` and `root_mode` (tested like {@link INIT_PROBE}).
 */
export const INIT_ARGS = `root=/dev/vda
rootfstype=ext4
init=/sbin/pyro-init
init_args="--serial auto"
net=
skip_modules=
root_mode=rw
for arg in $cmdline; do
  case "$arg" in
    root=*) root="\${arg#root=}" ;;
    rootfstype=*) rootfstype="\${arg#rootfstype=}" ;;
    pyro.init=*) init="\${arg#pyro.init=}" ;;
    pyro.net=*) net="\${arg#pyro.net=}" ;;
    pyro.activate) root_mode=ro ;;
    pyro.skip_modules=*) skip_modules="\${arg#pyro.skip_modules=}" ;;
    pyro.init_args=*) init_args="\${arg#pyro.init_args=}"; init_args="\${init_args//,/ }" ;;
  esac
done
`;

/**
 * The initramfs `/init`: a busybox shell script. It mounts the kernel
 * filesystems, loads the modules listed in `/lib/modules/load` (one line per
 * wave, waves in dependency order, each wave's modules in parallel) except
 * those named in `pyro.skip_modules=a,b`, waits for the root disk, brings up
 * `eth0` when the command line has `pyro.net=ADDR/PREFIX,GATEWAY,DNS` (`lo` is
 * the agent's job), mounts the ext4 root (read-only with `pyro.activate`: the
 * machine may be snapshotted before the host activates it, and its disk must
 * then still equal the environment's image; the agent's `activate` op remounts
 * it read-write and writes `/etc/resolv.conf`) and hands
 * over with `switch_root` to `pyro.init=` (default `/sbin/pyro-init`, the
 * guest agent, started with `--serial auto` or the comma-separated words of
 * `pyro.init_args=`). Any failure prints a line starting with
 * `pyro-initramfs: error:` to the console and resets the machine, which
 * QEMU's `-no-reboot` turns into an exit. With `pyro.probe` on the command
 * line it only prints `pyro-probe-ok` and powers off (the KVM usability probe
 * and the bare-boot benchmark: keep that path trivial). Busybox runs its
 * applets in forked children without exec, and builtins (`read`, `case`,
 * `${v//,/ }`) in the shell itself: every process costs under emulation.
 */
export const INIT_SCRIPT = `#!/bin/sh
export PATH=/bin
fail() {
  echo "pyro-initramfs: error: $*"
  sync
  reboot -f
  sleep 5
  poweroff -f
}
mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mount /proc"
read -r cmdline < /proc/cmdline
${INIT_PROBE}mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "mount /sys"
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev || fail "mount /dev"
${INIT_ARGS}while read -r wave; do
  for mod in $wave; do
    case ",$skip_modules," in *",\${mod%.ko},"*) continue ;; esac
    insmod "/lib/modules/$mod" || echo "pyro-initramfs: warning: insmod $mod failed" &
  done
  wait
done < /lib/modules/load
tries=0
while [ ! -b "$root" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 1000 ] || fail "root device $root did not appear"
  usleep 10000
done
if [ -n "$net" ]; then
  old_ifs="$IFS"; IFS=,; set -- $net; IFS="$old_ifs"
  ip link set eth0 up || fail "no network interface eth0"
  ip addr add "$1" dev eth0 || fail "ip addr add $1"
  [ -z "$2" ] || ip route add default via "$2" || fail "ip route add default via $2"
  dns="$3"
fi
mount -t "$rootfstype" -o "$root_mode" "$root" /newroot || fail "mount $root ($rootfstype) on /newroot"
if [ -n "$dns" ] && [ "$root_mode" = rw ] && [ -d /newroot/etc ]; then
  rm -f /newroot/etc/resolv.conf
  echo "nameserver $dns" > /newroot/etc/resolv.conf
fi
[ -x "/newroot$init" ] || [ -L "/newroot$init" ] || fail "$init not found in the root filesystem"
for m in dev proc sys; do
  if [ -d "/newroot/$m" ]; then mount --move "/$m" "/newroot/$m"; else umount -l "/$m"; fi
done
exec switch_root /newroot "$init" $init_args
`;
