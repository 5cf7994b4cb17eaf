package archive

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// openDirBeneath opens the directory at the clean relative path rel under the
// directory fd root, one component at a time with O_NOFOLLOW, so that no
// symlink — whether it came from the archive or already existed — is ever
// followed. Missing components are created (mode 0755) when create is set.
// An empty rel opens root itself. The caller closes the returned fd.
func openDirBeneath(root int, rel string, create bool) (int, error) {
	fd, err := unix.Openat(root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, agenterr.Wrap(agenterr.IO, err, "open destination")
	}
	if rel == "" {
		return fd, nil
	}
	for _, comp := range strings.Split(rel, "/") {
		next, err := openDirAt(fd, comp, create)
		unix.Close(fd)
		if err != nil {
			return -1, pathError(rel, comp, err)
		}
		fd = next
	}
	return fd, nil
}

func openDirAt(dirfd int, name string, create bool) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, err
		}
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	return fd, err
}

func pathError(rel, comp string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return agenterr.New(agenterr.BadRequest, "%q: component %q is a symlink or not a directory", rel, comp)
	case errors.Is(err, unix.ENOENT):
		return agenterr.New(agenterr.NotFound, "%q: component %q does not exist", rel, comp)
	default:
		return agenterr.Wrap(agenterr.IO, err, "%q", rel)
	}
}

// removeExisting clears the way for a new non-directory entry named name in
// dirfd: it unlinks a file or symlink (never following it) and removes an
// empty directory. A non-empty directory is refused.
func removeExisting(dirfd int, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "stat %q", name)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
			return agenterr.Wrap(agenterr.BadRequest, err, "cannot replace directory %q", name)
		}
		return nil
	}
	if err := unix.Unlinkat(dirfd, name, 0); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "remove %q", name)
	}
	return nil
}
