package sysinit

import (
	"golang.org/x/sys/unix"
)

// maxHostname is the kernel's limit.
const maxHostname = 64

// SetHostname sets the hostname (UTS namespace).
func SetHostname(name string) error {
	if len(name) > maxHostname {
		name = name[:maxHostname]
	}
	return unix.Sethostname([]byte(name))
}

// LoopbackUp brings up the lo interface.
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
