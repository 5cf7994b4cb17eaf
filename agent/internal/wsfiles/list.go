package wsfiles

import (
	"errors"
	"os"
	"sort"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// Entry is one listed file, directory, symlink or other node; Path is
// relative to the root.
type Entry struct {
	Path       string  `json:"path"`
	Kind       string  `json:"kind"`
	SizeBytes  int64   `json:"size_bytes"`
	Mode       string  `json:"mode"`
	LinkTarget *string `json:"link_target,omitempty"`
}

// ListLimits bound a listing: entries, and the bytes of their JSON (a result
// must fit one protocol frame).
type ListLimits struct {
	MaxEntries int
	MaxBytes   int
}

type lister struct {
	root      *Root
	lim       ListLimits
	entries   []Entry
	bytes     int
	truncated bool
}

// List lists the directory rel (its children; with recursive, every
// descendant, depth first in name order), or the one entry of a file. Symlinks
// are reported, never followed below rel. Past the limits it stops and says
// truncated.
func (r *Root) List(rel string, recursive bool, lim ListLimits) ([]Entry, bool, error) {
	fd, err := r.Open(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil && !agenterr.Is(err, agenterr.BadRequest) {
		return nil, false, err
	}
	l := &lister{root: r, lim: lim, entries: []Entry{}}
	if err != nil {
		// Not a directory: the one entry of rel itself (a symlink at rel was followed inside the root).
		pfd, perr := r.Open(rel, unix.O_PATH, 0)
		if perr != nil {
			return nil, false, err
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err != nil {
			return nil, false, agenterr.Wrap(agenterr.IO, err, "stat %s", r.Abs(rel))
		}
		l.add(rel, &st, nil)
		return l.entries, false, nil
	}
	defer unix.Close(fd)
	if err := l.walk(fd, rel, recursive); err != nil {
		return nil, false, err
	}
	return l.entries, l.truncated, nil
}

func (l *lister) add(p string, st *unix.Stat_t, target *string) bool {
	kind := "other"
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		kind = "file"
	case unix.S_IFDIR:
		kind = "directory"
	case unix.S_IFLNK:
		kind = "symlink"
	}
	// ~ the JSON of one entry: the path, its target and the fixed fields.
	cost := len(p) + 96
	if target != nil {
		cost += len(*target)
	}
	if len(l.entries) >= l.lim.MaxEntries || l.bytes+cost > l.lim.MaxBytes {
		l.truncated = true
		return false
	}
	l.bytes += cost
	l.entries = append(l.entries, Entry{Path: p, Kind: kind, SizeBytes: st.Size, Mode: modeText(st), LinkTarget: target})
	return true
}

// walk lists the directory dirfd, whose path relative to the root is dir.
func (l *lister) walk(dirfd int, dir string, recursive bool) error {
	dup, err := unix.Dup(dirfd)
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "list %s", dir)
	}
	f := os.NewFile(uintptr(dup), dir)
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "list %s", dir)
	}
	sort.Strings(names)
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed while listing
			}
			return agenterr.Wrap(agenterr.IO, err, "stat %s/%s", dir, name)
		}
		var target *string
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			buf := make([]byte, 4096)
			if n, err := unix.Readlinkat(dirfd, name, buf); err == nil {
				t := string(buf[:n])
				target = &t
			}
		}
		child := name
		if dir != "" {
			child = dir + "/" + name
		}
		if !l.add(child, &st, target) {
			return nil
		}
		if recursive && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			childfd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // replaced while listing
			}
			err = l.walk(childfd, child, true)
			unix.Close(childfd)
			if err != nil || l.truncated {
				return err
			}
		}
	}
	return nil
}
