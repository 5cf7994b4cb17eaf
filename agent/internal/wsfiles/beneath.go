// Package wsfiles reads, writes, lists and patches files under one root
// directory (the guest's /workspace) without ever leaving it: every path is
// resolved by the kernel beneath the root's fd (openat2 RESOLVE_BENEATH), so a
// symlink may lead elsewhere inside the root but never out of it, whatever the
// guest made of the tree.
package wsfiles

import (
	"errors"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// Root is an open root directory; every path of this package is relative to it.
type Root struct {
	fd   int
	name string
	// owner, when set, is given every file and directory the root's writes create.
	owner *[2]int
}

// SetOwner gives uid:gid every file and directory that Write, MkdirAll and
// Apply create from now on (a workspace's image User); existing ones keep theirs.
func (r *Root) SetOwner(uid, gid int) { r.owner = &[2]int{uid, gid} }

// chownNew gives a file this root just created (fd) to its owner, if it has one.
func (r *Root) chownNew(fd int, rel string) error {
	if r.owner == nil {
		return nil
	}
	if err := unix.Fchown(fd, r.owner[0], r.owner[1]); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "chown %s", r.Abs(rel))
	}
	return nil
}

// OpenRoot opens the directory name (absolute) as a Root. The caller closes it.
func OpenRoot(name string) (*Root, error) {
	if !path.IsAbs(name) {
		return nil, agenterr.New(agenterr.BadRequest, "root must be an absolute path, got %q", name)
	}
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, agenterr.New(agenterr.NotFound, "%s does not exist in the guest", name)
		}
		return nil, agenterr.Wrap(agenterr.IO, err, "open %s", name)
	}
	return &Root{fd: fd, name: name}, nil
}

// Close releases the root's fd.
func (r *Root) Close() { unix.Close(r.fd) }

// Abs is the guest path of rel ("" is the root itself).
func (r *Root) Abs(rel string) string {
	if rel == "" {
		return r.name
	}
	return r.name + "/" + rel
}

// CheckRel refuses anything but a clean relative path without "..": the host
// normalises paths, so anything else is a bug or an attack.
func CheckRel(rel string) error {
	if rel == "" {
		return nil
	}
	if strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "\x00") {
		return agenterr.New(agenterr.BadRequest, "path %q must be clean and relative to the root, without ..", rel)
	}
	return nil
}

// resolveFlags: symlinks are followed only while they stay beneath the root;
// /proc-style magic links never.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openat2Missing is set once the kernel says it has no openat2 (Linux < 5.6);
// resolution then refuses every symlink (openNoFollow).
var openat2Missing bool

// Open opens rel beneath the root with flags (O_CLOEXEC added) and mode.
func (r *Root) Open(rel string, flags int, mode uint32) (int, error) {
	if err := CheckRel(rel); err != nil {
		return -1, err
	}
	name := rel
	if name == "" {
		name = "."
	}
	if !openat2Missing {
		how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolveFlags}
		for {
			fd, err := unix.Openat2(r.fd, name, &how)
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue // EAGAIN: a rename raced the lookup; the kernel asks for a retry
			}
			if errors.Is(err, unix.ENOSYS) {
				openat2Missing = true
				break
			}
			if err != nil {
				return -1, r.pathError(rel, err)
			}
			return fd, nil
		}
	}
	fd, err := openNoFollow(r.fd, name, flags, mode)
	if err != nil {
		return -1, r.pathError(rel, err)
	}
	return fd, nil
}

// openNoFollow walks name one component at a time with O_NOFOLLOW: without
// openat2 no symlink is followed at all.
func openNoFollow(root int, name string, flags int, mode uint32) (int, error) {
	comps := strings.Split(name, "/")
	dir, err := unix.Openat(root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, comp := range comps[:len(comps)-1] {
		next, err := unix.Openat(dir, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			return -1, err
		}
		dir = next
	}
	defer unix.Close(dir)
	return unix.Openat(dir, comps[len(comps)-1], flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
}

// pathError turns a resolution errno into a protocol error naming the path.
func (r *Root) pathError(rel string, err error) error {
	p := r.Abs(rel)
	switch {
	case errors.Is(err, unix.EXDEV):
		return agenterr.New(agenterr.BadRequest, "%s leads outside %s through a symlink", p, r.name)
	case errors.Is(err, unix.ELOOP):
		if openat2Missing {
			return agenterr.New(agenterr.BadRequest, "%s goes through a symlink (this guest kernel has no openat2, so symlinks are not followed)", p)
		}
		return agenterr.New(agenterr.BadRequest, "%s: too many levels of symlinks, or a symlink where none may be", p)
	case errors.Is(err, unix.ENOENT):
		return agenterr.New(agenterr.NotFound, "%s does not exist", p)
	case errors.Is(err, unix.ENOTDIR):
		return agenterr.New(agenterr.BadRequest, "%s: a component of the path is not a directory", p)
	case errors.Is(err, unix.EISDIR):
		return agenterr.New(agenterr.BadRequest, "%s is a directory", p)
	case errors.Is(err, unix.ENXIO):
		return agenterr.New(agenterr.BadRequest, "%s is a FIFO or socket, not a regular file", p)
	case errors.Is(err, unix.EEXIST):
		return agenterr.New(agenterr.Exists, "%s already exists", p)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return agenterr.Wrap(agenterr.BadRequest, err, "%s", p)
	default:
		return agenterr.Wrap(agenterr.IO, err, "%s", p)
	}
}

// MkdirAll makes the directory rel and its missing parents (mode 0777 less
// the umask, as mkdir -p), each step resolved beneath the root. It returns the
// directories it created, outermost first.
func (r *Root) MkdirAll(rel string) ([]string, error) {
	if err := CheckRel(rel); err != nil || rel == "" {
		return nil, err
	}
	var created []string
	comps := strings.Split(rel, "/")
	for i := range comps {
		prefix := strings.Join(comps[:i+1], "/")
		fd, err := r.Open(prefix, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if !agenterr.Is(err, agenterr.NotFound) {
			return created, err
		}
		parent, err := r.Open(strings.Join(comps[:i], "/"), unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return created, err
		}
		err = unix.Mkdirat(parent, comps[i], 0o777)
		if err == nil && r.owner != nil {
			err = unix.Fchownat(parent, comps[i], r.owner[0], r.owner[1], unix.AT_SYMLINK_NOFOLLOW)
			if err != nil {
				created = append(created, prefix)
			}
		}
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return created, r.pathError(prefix, err)
		}
		if err == nil {
			created = append(created, prefix)
		}
		// Whatever is there now (ours or a racing mkdir's) is checked by the next Open.
		fd, err = r.Open(prefix, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return created, err
		}
		unix.Close(fd)
	}
	return created, nil
}

// splitRel is rel's parent ("" for the root) and last component.
func splitRel(rel string) (string, string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}
