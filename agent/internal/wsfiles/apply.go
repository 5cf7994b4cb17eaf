package wsfiles

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// Change is one file of an atomic change set: its new content (write) or its
// removal (delete), and what the host saw there when it computed the change.
type Change struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	// Size of the new content (write); contents follow each other on STDIN.
	Size int64 `json:"size"`
	// Expect is the content the change was computed from; nil: no file there.
	Expect *Expect `json:"expect"`
	// Executable, when set, gives (true) or takes away (false) the execute bits
	// of a write (git's 100755 and 100644); unset keeps the file's mode.
	Executable *bool `json:"executable"`
}

// Expect identifies a file's content: its size and CRC-32 (IEEE). It detects
// a file changed since the host read it, not an adversary (the guest owns its files).
type Expect struct {
	Size  int64  `json:"size"`
	CRC32 uint32 `json:"crc32"`
}

// staged is one checked change, ready to commit.
type staged struct {
	Change
	parent  string
	base    string
	dirfd   int
	temp    string
	content []byte
	exists  bool
	st      unix.Stat_t
}

// Apply makes every change or none: each target is checked against its Expect
// first, then each new content is written to a temporary file beside its
// target, and only when all are written are they renamed over their targets
// and the deletions made. A failure before the renames leaves the tree as it
// was (directories it made are removed again). Targets must be regular files;
// a symlink at a target is refused, not followed.
func (r *Root) Apply(changes []Change, data []byte) error {
	var total int64
	seen := map[string]bool{}
	for _, c := range changes {
		if err := CheckRel(c.Path); err != nil || c.Path == "" {
			return agenterr.New(agenterr.BadRequest, "change path %q must be a clean relative file path", c.Path)
		}
		if seen[c.Path] {
			return agenterr.New(agenterr.BadRequest, "%s appears twice in one change set", r.Abs(c.Path))
		}
		seen[c.Path] = true
		if c.Action != "write" && c.Action != "delete" {
			return agenterr.New(agenterr.BadRequest, "change action %q is neither write nor delete", c.Action)
		}
		if c.Action == "delete" && c.Expect == nil {
			return agenterr.New(agenterr.BadRequest, "a delete of %s must say what it expects there", r.Abs(c.Path))
		}
		if c.Size < 0 || (c.Action == "delete" && c.Size != 0) {
			return agenterr.New(agenterr.BadRequest, "bad size for %s", r.Abs(c.Path))
		}
		total += c.Size
	}
	if total != int64(len(data)) {
		return agenterr.New(agenterr.BadRequest, "the contents add up to %d bytes, but %d arrived", total, len(data))
	}
	plan := make([]*staged, 0, len(changes))
	var made []string
	committed := false
	defer func() {
		for _, s := range plan {
			if !committed && s.temp != "" {
				_ = unix.Unlinkat(s.dirfd, s.temp, 0)
			}
			if s.dirfd >= 0 {
				unix.Close(s.dirfd)
			}
		}
		if !committed {
			for i := len(made) - 1; i >= 0; i-- {
				if fd, err := r.Open(parentOf(made[i]), unix.O_PATH|unix.O_DIRECTORY, 0); err == nil {
					_ = unix.Unlinkat(fd, baseOf(made[i]), unix.AT_REMOVEDIR)
					unix.Close(fd)
				}
			}
		}
	}()
	offset := int64(0)
	// 1. Check every target against what the host saw.
	for _, c := range changes {
		parent, base := splitRel(c.Path)
		s := &staged{Change: c, parent: parent, base: base, dirfd: -1}
		if c.Action == "write" {
			s.content = data[offset : offset+c.Size]
			offset += c.Size
		}
		plan = append(plan, s)
		if err := r.check(s); err != nil {
			return err
		}
	}
	// 2. Stage each new content beside its target.
	for _, s := range plan {
		if s.Action != "write" {
			continue
		}
		if s.dirfd < 0 {
			created, err := r.MkdirAll(s.parent)
			made = append(made, created...)
			if err != nil {
				return err
			}
			if s.dirfd, err = r.Open(s.parent, unix.O_PATH|unix.O_DIRECTORY, 0); err != nil {
				return err
			}
		}
		if err := r.stage(s); err != nil {
			return err
		}
	}
	// 3. Commit: renames and unlinks, which do not fail on a checked tree short of an I/O error.
	committed = true
	for _, s := range plan {
		var err error
		if s.Action == "write" {
			err = unix.Renameat(s.dirfd, s.temp, s.dirfd, s.base)
		} else {
			err = unix.Unlinkat(s.dirfd, s.base, 0)
		}
		if err != nil {
			return agenterr.Wrap(agenterr.IO, err, "commit %s (the changes before it were made)", r.Abs(s.Path))
		}
		s.temp = ""
	}
	return nil
}

func parentOf(rel string) string { p, _ := splitRel(rel); return p }
func baseOf(rel string) string   { _, b := splitRel(rel); return b }

// check opens the target's directory and compares the target with Expect.
func (r *Root) check(s *staged) error {
	fd, err := r.Open(s.parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if agenterr.Is(err, agenterr.NotFound) && s.Expect == nil {
		return nil // the directory is made at staging
	}
	if err != nil {
		return err
	}
	s.dirfd = fd
	p := r.Abs(s.Path)
	err = unix.Fstatat(fd, s.base, &s.st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		if s.Expect != nil {
			return agenterr.New(agenterr.NotFound, "%s does not exist (it did when the change was computed)", p)
		}
		return nil
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "stat %s", p)
	}
	s.exists = true
	if s.Expect == nil {
		return agenterr.New(agenterr.Exists, "%s already exists", p)
	}
	if s.st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return agenterr.New(agenterr.BadRequest, "%s is a symlink; only regular files are changed", p)
	}
	if err := r.regularFile(s.Path, &s.st); err != nil {
		return err
	}
	if s.st.Size != s.Expect.Size {
		return agenterr.New(agenterr.Exists, "%s changed since it was read (%d bytes, expected %d)", p, s.st.Size, s.Expect.Size)
	}
	cfd, err := unix.Openat(fd, s.base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "open %s", p)
	}
	f := os.NewFile(uintptr(cfd), p)
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.LimitReader(f, s.Expect.Size+1)); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "read %s", p)
	}
	if h.Sum32() != s.Expect.CRC32 {
		return agenterr.New(agenterr.Exists, "%s changed since it was read", p)
	}
	return nil
}

// stage writes s's content to a new temporary file beside its target, with
// the target's mode and owner when it exists.
func (r *Root) stage(s *staged) error {
	perm := uint32(0o666)
	if s.exists {
		perm = uint32(s.st.Mode & 0o7777)
	}
	if s.Executable != nil && *s.Executable {
		// Execute where it may be read, as chmod +x under a umask would.
		perm |= (perm & 0o444) >> 2
	} else if s.Executable != nil {
		perm &^= 0o111
	}
	for attempt := 0; ; attempt++ {
		name := fmt.Sprintf(".%s.pyro-patch-%d-%d", s.base, os.Getpid(), time.Now().UnixNano())
		if len(name) > 255 {
			name = fmt.Sprintf(".pyro-patch-%d-%d", os.Getpid(), time.Now().UnixNano())
		}
		fd, err := unix.Openat(s.dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if errors.Is(err, unix.EEXIST) && attempt < 5 {
			continue
		}
		if err != nil {
			return agenterr.Wrap(agenterr.IO, err, "create a temporary file beside %s", r.Abs(s.Path))
		}
		s.temp = name
		f := os.NewFile(uintptr(fd), name)
		defer f.Close()
		if _, err := io.Copy(f, bytes.NewReader(s.content)); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "write %s", r.Abs(s.Path))
		}
		if !s.exists {
			if err := r.chownNew(fd, s.Path); err != nil {
				return err
			}
		}
		if s.exists {
			// Same owner and mode as the file it replaces (the umask cut the create mode).
			_ = unix.Fchown(fd, int(s.st.Uid), int(s.st.Gid))
			if err := unix.Fchmod(fd, perm); err != nil {
				return agenterr.Wrap(agenterr.IO, err, "chmod %s", r.Abs(s.Path))
			}
		}
		return nil
	}
}
