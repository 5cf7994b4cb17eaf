package sysinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/bootargs"
)

// Identity is what makes a booted (or restored) VM this particular machine:
// what the host sends in the activate op.
type Identity struct {
	Hostname string
	// UnixNano is the host's wall clock.
	UnixNano int64
	// Entropy is mixed into the kernel's pool before the CRNG is reseeded, so
	// machines restored from one snapshot stop sharing a random state.
	Entropy []byte
}

// Activate makes the machine writable and gives it its identity: the root
// filesystem is remounted read-write when it was booted read-only (a VM that
// may be snapshotted before activation must not write its disk), the DNS
// server of pyro.net= is written to /etc/resolv.conf, then the hostname, the
// clock and the random pool are set. All steps run; their errors are joined.
func Activate(id Identity) error {
	var errs []error
	if rootReadOnly() {
		if err := unix.Mount("", "/", "", unix.MS_REMOUNT, ""); err != nil {
			errs = append(errs, fmt.Errorf("remount / read-write: %w", err))
		}
	}
	if dns := cmdlineDNS(); dns != "" {
		_ = os.Remove("/etc/resolv.conf")
		if err := os.WriteFile("/etc/resolv.conf", []byte("nameserver "+dns+"\n"), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	if id.Hostname != "" {
		if err := SetHostname(id.Hostname); err != nil {
			errs = append(errs, fmt.Errorf("hostname: %w", err))
		}
	}
	if id.UnixNano > 0 {
		ts := unix.NsecToTimespec(id.UnixNano)
		if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
			errs = append(errs, fmt.Errorf("set clock: %w", err))
		}
	}
	if len(id.Entropy) > 0 {
		if err := reseed(id.Entropy); err != nil {
			errs = append(errs, fmt.Errorf("reseed: %w", err))
		}
	}
	return errors.Join(errs...)
}

// reseed credits entropy to the kernel's input pool (RNDADDENTROPY) and forces
// the CRNG to reseed from it at once (RNDRESEEDCRNG) instead of at its next
// scheduled reseed.
func reseed(entropy []byte) error {
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+len(entropy))
	binary.NativeEndian.PutUint32(info[0:4], uint32(len(entropy)*8))
	binary.NativeEndian.PutUint32(info[4:8], uint32(len(entropy)))
	copy(info[8:], entropy)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.RNDADDENTROPY, uintptr(unsafe.Pointer(&info[0]))); errno != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.RNDRESEEDCRNG, 0); errno != 0 {
		return fmt.Errorf("RNDRESEEDCRNG: %w", errno)
	}
	return nil
}

// rootReadOnly reports whether / is mounted read-only.
func rootReadOnly() bool {
	var st unix.Statfs_t
	return unix.Statfs("/", &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// cmdlineDNS is the DNS server of pyro.net=ADDR/PREFIX,GATEWAY,DNS, if any.
func cmdlineDNS() string {
	// A bad pyro.transport cannot matter here: the agent is already serving.
	a, _ := bootargs.Read()
	return a.DNS
}
