package archive

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// maxLinkHops bounds the symlinks one path resolution follows (the kernel's own limit).
const maxLinkHops = 40

// resolver opens directories beneath the extraction root. Every component is
// opened with O_NOFOLLOW relative to an fd of its (real) parent, so the
// kernel never follows a symlink on our behalf; a symlink met on the way is
// read and resolved here, and only while its target stays beneath the root.
// A symlink that leaves the root is never followed: the entry being written
// is refused, naming the entry and the link.
type resolver struct {
	root int    // fd of the extraction root
	dest string // its absolute, clean path (for absolute link targets)
	// owner, when set, is given every directory openDir creates.
	owner *Owner
}

// openDir opens directory rel (a clean relative path; "" is the root) for the
// entry called entry, creating missing components (mode 0755) when create is
// set. The caller closes the returned fd.
func (r resolver) openDir(entry, rel string, create bool) (int, error) {
	root, err := unix.Openat(r.root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, agenterr.Wrap(agenterr.IO, err, "open destination")
	}
	// stack holds fds of the real directories from the root down to the
	// current one, and real their names: ".." pops one, as the kernel's ".."
	// after a followed symlink goes to the parent of the link's target.
	stack := []int{root}
	var real []string
	defer func() {
		for _, fd := range stack[:len(stack)-1] {
			unix.Close(fd)
		}
	}()
	pending := components(rel, "")
	hops := 0
	for len(pending) > 0 {
		comp := pending[0].name
		via := pending[0].via
		pending = pending[1:]
		cur := stack[len(stack)-1]
		if comp == ".." {
			if len(stack) == 1 {
				// Entry names have no "..": this one came from a link's target.
				return r.fail(stack, agenterr.New(agenterr.BadRequest,
					"entry %q would be written through symlink %s, which leaves the destination %s", entry, via, r.dest))
			}
			unix.Close(cur)
			stack = stack[:len(stack)-1]
			real = real[:len(real)-1]
			continue
		}
		fd, created, err := openDirAt(cur, comp, create)
		if err == nil && created && r.owner != nil {
			if err := unix.Fchown(fd, r.owner.UID, r.owner.GID); err != nil {
				unix.Close(fd)
				return r.fail(stack, agenterr.Wrap(agenterr.IO, err, "chown %q", path.Join(append(real, comp)...)))
			}
		}
		if err == nil {
			stack = append(stack, fd)
			real = append(real, comp)
			continue
		}
		if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
			return r.fail(stack, pathError(entry, comp, err))
		}
		target, isLink := readLink(cur, comp)
		if !isLink {
			return r.fail(stack, agenterr.New(agenterr.BadRequest, "entry %q: %q is not a directory", entry, path.Join(append(real, comp)...)))
		}
		link := path.Join(append(real, comp)...)
		if hops++; hops > maxLinkHops {
			return r.fail(stack, agenterr.New(agenterr.BadRequest, "entry %q: too many levels of symlinks at %q", entry, link))
		}
		via = fmt.Sprintf("%q -> %q", link, target)
		rest, fromRoot, ok := r.linkRest(target)
		if !ok {
			return r.fail(stack, agenterr.New(agenterr.BadRequest,
				"entry %q would be written through symlink %s, which leaves the destination %s", entry, via, r.dest))
		}
		if fromRoot {
			for _, fd := range stack[1:] {
				unix.Close(fd)
			}
			stack = stack[:1]
			real = nil
		}
		pending = append(components(rest, via), pending...)
	}
	return stack[len(stack)-1], nil
}

// fail closes the fd on top of the stack (the deferred cleanup closes the
// rest) and returns err.
func (r resolver) fail(stack []int, err error) (int, error) {
	unix.Close(stack[len(stack)-1])
	return -1, err
}

// linkRest turns a symlink target into the components still to walk:
// relative targets continue from the link's directory; an absolute target
// must name the root or a path beneath it (and not climb with ".."), and
// continues from the root.
func (r resolver) linkRest(target string) (rest string, fromRoot, ok bool) {
	if target == "" {
		return "", false, false
	}
	if !strings.HasPrefix(target, "/") {
		return target, false, true
	}
	for _, part := range strings.Split(target, "/") {
		if part == ".." {
			return "", false, false
		}
	}
	t := path.Clean(target)
	switch {
	case t == r.dest:
		return "", true, true
	case r.dest == "/":
		return strings.TrimPrefix(t, "/"), true, true
	case strings.HasPrefix(t, r.dest+"/"):
		return strings.TrimPrefix(t, r.dest+"/"), true, true
	}
	return "", false, false
}

// component is one path component still to walk, and the symlink whose
// target it came from (empty for the entry's own name), for error messages.
type component struct{ name, via string }

func components(rel, via string) []component {
	var parts []component
	for _, p := range strings.Split(rel, "/") {
		if p != "" && p != "." {
			parts = append(parts, component{p, via})
		}
	}
	return parts
}

// readLink returns the target of name in dirfd and whether it is a symlink.
func readLink(dirfd int, name string) (string, bool) {
	buf := make([]byte, DefaultMaxPathLen+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil || n > DefaultMaxPathLen {
		return "", false
	}
	return string(buf[:n]), true
}

// openDirAt opens directory name in dirfd without following a symlink,
// making it (0755) first when it is missing and create is set; created says
// whether this call made it.
func openDirAt(dirfd int, name string, create bool) (fd int, created bool, err error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err = unix.Openat(dirfd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		err = unix.Mkdirat(dirfd, name, 0o755)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, false, err
		}
		created = err == nil
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	return fd, created, err
}

func pathError(entry, comp string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return agenterr.New(agenterr.NotFound, "entry %q: component %q does not exist", entry, comp)
	default:
		return agenterr.Wrap(agenterr.IO, err, "entry %q", entry)
	}
}

// removeExisting clears the way for a new non-directory entry (called entry
// in errors) at name in dirfd: it unlinks a file or symlink (never following it) and removes an
// empty directory. A non-empty directory is refused.
func removeExisting(dirfd int, name, entry string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "stat %q", entry)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
			return agenterr.Wrap(agenterr.BadRequest, err, "entry %q cannot replace the non-empty directory in its place", entry)
		}
		return nil
	}
	if err := unix.Unlinkat(dirfd, name, 0); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "remove %q", entry)
	}
	return nil
}
