package secrets

import (
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a small tmpfs on dir unless dir is already a mount point
// (its device differs from its parent's).
func mountTmpfs(dir string) error {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if err := unix.Stat(dir+"/..", &parent); err != nil {
		return err
	}
	if st.Dev != parent.Dev {
		return nil
	}
	return unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=16m")
}
