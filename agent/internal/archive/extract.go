package archive

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// Extract reads a tar stream from r and writes its entries under dest, which
// is created if missing. It accepts regular files, directories, symlinks and
// hard links, and refuses absolute names, ".." components, hard links to
// anything but a regular file extracted earlier from the same archive,
// device, FIFO and other special entries, and anything past the limits.
//
// Symlinks are kept as symlinks whatever their target (absolute or relative,
// inside dest or not): a link is only text until something follows it, and
// Extract never follows one out of dest. An entry's parent directories are
// resolved beneath dest: a symlink on the way (from the archive or already
// there) is followed only while its target stays beneath dest, so `s -> d`
// then `s/f` writes d/f; an entry that would be written through a symlink
// leaving dest is refused, naming the entry and the link. An existing
// symlink in the place of the entry itself is replaced, never written through.
//
// Permission bits are kept (setuid, setgid and sticky are dropped) and so are
// modification times; ownership is not (entries belong to the agent's user).
// Result.Entries counts the entries written: the archive's root ("./") and
// pax global headers are not counted. On error, entries already extracted
// stay. Extract stops reading at the end of the archive; callers that must
// consume the whole stream drain r after.
func Extract(r io.Reader, dest string, lim Limits) (Result, error) {
	return ExtractAs(r, dest, lim, nil)
}

// Owner is a uid and gid that extracted entries are given.
type Owner struct {
	UID int
	GID int
}

// ExtractAs is Extract, with every entry it writes, every directory it makes
// on the way (dest and missing parents included) and every directory entry
// it keeps given to owner (nil: the agent's own user, as Extract). The
// archive's "./" (dest as it was) is left alone.
func ExtractAs(r io.Reader, dest string, lim Limits, owner *Owner) (Result, error) {
	lim = lim.withDefaults()
	dest, err := filepath.Abs(dest)
	if err != nil {
		return Result{}, agenterr.Wrap(agenterr.BadRequest, err, "destination %q", dest)
	}
	if err := mkdirAllOwned(dest, owner); err != nil {
		return Result{}, agenterr.Wrap(agenterr.IO, err, "create destination")
	}
	root, err := unix.Open(dest, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Result{}, agenterr.Wrap(agenterr.IO, err, "open destination")
	}
	defer unix.Close(root)

	x := &extractor{root: root, dest: dest, lim: lim, files: map[string]bool{}, dirsAt: resolver{root: root, dest: dest, owner: owner}, owner: owner}
	tr := tar.NewReader(r)
	seen := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) {
			return x.res, agenterr.New(agenterr.BadRequest, "insecure entry name %q refused", hdr.Name)
		}
		if err != nil {
			return x.res, agenterr.Wrap(agenterr.BadRequest, err, "malformed tar")
		}
		seen++
		if seen > lim.MaxEntries {
			return x.res, agenterr.New(agenterr.Limit, "archive has more than %d entries (at %q)", lim.MaxEntries, hdr.Name)
		}
		if err := x.entry(hdr, tr); err != nil {
			return x.res, err
		}
	}
	return x.res, x.finishDirs()
}

type dirMeta struct {
	name  string
	perm  uint32
	times []unix.Timespec
	owner *Owner
}

type extractor struct {
	root   int
	dest   string
	lim    Limits
	res    Result
	files  map[string]bool // regular files extracted so far: valid hard link targets
	dirsAt resolver
	dirs   []dirMeta // applied last, so writing into a dir does not bump its mtime
	owner  *Owner
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return agenterr.New(agenterr.BadRequest, "special file entry %q refused", hdr.Name)
	case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		return agenterr.New(agenterr.Unsupported, "entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
	}
	name, err := cleanName(hdr.Name, x.lim.MaxPathLen)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the archive's "./": dest itself, left as it is (and not counted)
		}
		return agenterr.New(agenterr.BadRequest, "entry %q has an empty name", hdr.Name)
	}
	delete(x.files, name)
	dir, base := splitName(name)
	pfd, err := x.dirsAt.openDir(name, dir, true)
	if err != nil {
		return err
	}
	x.res.Entries++
	defer unix.Close(pfd)
	perm := uint32(hdr.Mode) & 0o777
	times := entryTimes(hdr)

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := mkdirReplacing(pfd, base); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "mkdir %q", name)
		}
		x.dirs = append(x.dirs, dirMeta{name: name, perm: perm, times: times, owner: x.owner})
		return nil
	case tar.TypeReg, tar.TypeRegA:
		if err := x.writeFile(pfd, base, name, perm, hdr.Size, body); err != nil {
			return err
		}
		x.files[name] = true
	case tar.TypeSymlink:
		if len(hdr.Linkname) > x.lim.MaxPathLen {
			return agenterr.New(agenterr.Limit, "link target of %q longer than %d bytes", name, x.lim.MaxPathLen)
		}
		if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
			return agenterr.New(agenterr.BadRequest, "symlink %q has an empty or invalid target", name)
		}
		if err := removeExisting(pfd, base, name); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "symlink %q", name)
		}
	case tar.TypeLink:
		if err := x.hardLink(pfd, base, name, hdr.Linkname); err != nil {
			return err
		}
		return nil // a hard link shares its target's inode: leave its times alone
	}
	if x.owner != nil {
		// A symlink's own owner (never its target's); a file was given its owner before its mode.
		if err := unix.Fchownat(pfd, base, x.owner.UID, x.owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "chown %q", name)
		}
	}
	if err := unix.UtimesNanoAt(pfd, base, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "set times of %q", name)
	}
	return nil
}

func (x *extractor) writeFile(pfd int, base, name string, perm uint32, size int64, body io.Reader) error {
	if size < 0 || size > x.lim.MaxBytes-x.res.Bytes {
		return agenterr.New(agenterr.Limit, "archive contents exceed %d bytes (at %q)", x.lim.MaxBytes, name)
	}
	if err := removeExisting(pfd, base, name); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "create %q", name)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	n, err := io.Copy(f, body)
	x.res.Bytes += n
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return agenterr.Wrap(agenterr.BadRequest, err, "truncated archive at %q", name)
		}
		return agenterr.Wrap(agenterr.IO, err, "write %q", name)
	}
	if x.owner != nil {
		if err := f.Chown(x.owner.UID, x.owner.GID); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "chown %q", name)
		}
	}
	if err := f.Chmod(os.FileMode(perm)); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "chmod %q", name)
	}
	if err := f.Close(); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "close %q", name)
	}
	return nil
}

func (x *extractor) hardLink(pfd int, base, name, linkname string) error {
	// The target is named like an entry, but it is not one: errors name the link.
	target, err := cleanName(linkname, x.lim.MaxPathLen)
	if err != nil || !x.files[target] {
		return agenterr.New(agenterr.BadRequest,
			"hard link %q -> %q refused: a hard link must point to a file extracted earlier from the same archive", name, linkname)
	}
	tdir, tbase := splitName(target)
	tfd, err := x.dirsAt.openDir(name, tdir, false)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	if err := removeExisting(pfd, base, name); err != nil {
		return err
	}
	// Flags 0: linkat never follows a symlink at the source.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "link %q", name)
	}
	x.files[name] = true
	return nil
}

// finishDirs applies directory modes and times, deepest first.
func (x *extractor) finishDirs() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		parent, base := splitName(d.name)
		pfd, err := x.dirsAt.openDir(d.name, parent, false)
		if err != nil {
			return err
		}
		err = setDirMeta(pfd, base, d)
		unix.Close(pfd)
		if err != nil {
			return agenterr.Wrap(agenterr.IO, err, "set mode and times of %q", d.name)
		}
	}
	return nil
}

func setDirMeta(pfd int, base string, d dirMeta) error {
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if d.owner != nil {
		if err := unix.Fchown(fd, d.owner.UID, d.owner.GID); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, d.perm); err != nil {
		return err
	}
	return unix.UtimesNanoAt(pfd, base, d.times, unix.AT_SYMLINK_NOFOLLOW)
}

// mkdirReplacing makes directory name in pfd, keeping an existing directory
// and replacing anything else (a symlink is removed, never followed).
func mkdirReplacing(pfd int, name string) error {
	err := unix.Mkdirat(pfd, name, 0o755)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	if err := unix.Unlinkat(pfd, name, 0); err != nil {
		return err
	}
	return unix.Mkdirat(pfd, name, 0o755)
}

// splitName splits a clean relative name into its parent ("" for the root)
// and its last component.
func splitName(name string) (dir, base string) {
	dir, base = path.Split(name)
	return strings.TrimSuffix(dir, "/"), base
}

func entryTimes(hdr *tar.Header) []unix.Timespec {
	mtime := hdr.ModTime
	if mtime.IsZero() {
		mtime = time.Now()
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = mtime
	}
	return []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
}

// mkdirAllOwned is os.MkdirAll(dest, 0755) for an absolute dest, giving
// owner (when set) each directory it makes; existing ones are left as they
// are. It walks from "/" by file descriptor and gives a directory away
// through the fd it opened without following a symlink, so a directory
// swapped for a symlink meanwhile fails the call instead of handing the
// link's target to owner.
func mkdirAllOwned(dest string, owner *Owner) error {
	if owner == nil {
		return os.MkdirAll(dest, 0o755)
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for _, comp := range strings.Split(dest, "/") {
		if comp == "" {
			continue
		}
		// An existing component is followed as MkdirAll would (the host checked dest resolves where it should).
		next, err := unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			var created bool
			next, created, err = openDirAt(fd, comp, true)
			if err == nil && created {
				if err = unix.Fchown(next, owner.UID, owner.GID); err != nil {
					unix.Close(next)
				}
			}
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
		fd = next
	}
	unix.Close(fd)
	return nil
}
