package archive

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// Create writes a tar of p to w: a file, a symlink, or a directory and
// everything beneath it. Entry names are relative to the parent of p (so
// "/workspace/src" yields "src/", "src/main.go", ...). Symlinks are archived
// as links and never followed; only regular files, directories and symlinks
// are archived, other kinds are skipped; hard-linked files are stored as
// separate copies. maxBytes bounds the total size of file contents (zero
// means DefaultMaxBytes): past it Create stops with a limit error and the
// stream written so far is incomplete.
func Create(w io.Writer, p string, maxBytes int64) (Result, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	p = filepath.Clean(p)
	if p == "/" || p == "." {
		return Result{}, agenterr.New(agenterr.BadRequest, "cannot archive %q: name a file or directory below it", p)
	}
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Result{}, agenterr.New(agenterr.NotFound, "%s does not exist", p)
	}
	if err != nil {
		return Result{}, agenterr.Wrap(agenterr.IO, err, "stat %s", p)
	}
	if kind := specialKind(st.Mode()); kind != "" {
		// Skipped inside a tree, but asked for by name it would give an empty
		// archive, which the host cannot tell from a broken one.
		return Result{}, agenterr.New(agenterr.Unsupported, "%s is %s; only regular files, directories and symlinks can be archived", p, kind)
	}
	c := &creator{tw: tar.NewWriter(w), max: maxBytes, res: Result{Kind: "file"}}
	prefix := filepath.Base(p)
	if st.IsDir() {
		c.res.Kind = "directory"
		err = filepath.WalkDir(p, func(full string, d fs.DirEntry, err error) error {
			if err != nil {
				return agenterr.Wrap(agenterr.IO, err, "walk %s", full)
			}
			rel, err := filepath.Rel(p, full)
			if err != nil {
				return agenterr.Wrap(agenterr.Internal, err, "relative path of %s", full)
			}
			name := prefix
			if rel != "." {
				name = prefix + "/" + filepath.ToSlash(rel)
			}
			return c.add(full, name)
		})
	} else {
		err = c.add(p, prefix)
	}
	if err != nil {
		return c.res, err
	}
	if err := c.tw.Close(); err != nil {
		return c.res, agenterr.Wrap(agenterr.IO, err, "finish archive")
	}
	return c.res, nil
}

// specialKind names a file type Create does not archive ("" for the ones it does).
func specialKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	case mode.IsDir(), mode.IsRegular(), mode&fs.ModeSymlink != 0:
		return ""
	default:
		return "a special file"
	}
}

type creator struct {
	tw  *tar.Writer
	max int64
	res Result
}

func (c *creator) add(full, name string) error {
	st, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed while walking
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "stat %s", full)
	}
	switch mode := st.Mode(); {
	case mode.IsDir():
		return c.header(header(st, name+"/", tar.TypeDir, 0, ""))
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return agenterr.Wrap(agenterr.IO, err, "readlink %s", full)
		}
		return c.header(header(st, name, tar.TypeSymlink, 0, target))
	case mode.IsRegular():
		return c.file(full, name)
	default:
		return nil
	}
}

func (c *creator) file(full, name string) error {
	// O_NOFOLLOW: the entry may have been swapped for a symlink since Lstat.
	f, err := os.OpenFile(full, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "open %s", full)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "stat %s", full)
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	if st.Size() > c.max-c.res.Bytes {
		return agenterr.New(agenterr.Limit, "archive contents exceed %d bytes", c.max)
	}
	if err := c.header(header(st, name, tar.TypeReg, st.Size(), "")); err != nil {
		return err
	}
	n, err := io.CopyN(c.tw, f, st.Size())
	c.res.Bytes += n
	if errors.Is(err, io.EOF) {
		return agenterr.New(agenterr.IO, "%s shrank while being archived", full)
	}
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "archive %s", full)
	}
	return nil
}

func (c *creator) header(h *tar.Header) error {
	if err := c.tw.WriteHeader(h); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "write header for %s", h.Name)
	}
	c.res.Entries++
	return nil
}

func header(st fs.FileInfo, name string, typ byte, size int64, link string) *tar.Header {
	h := &tar.Header{
		Name:     name,
		Typeflag: typ,
		Mode:     int64(st.Mode().Perm()),
		Size:     size,
		Linkname: link,
		ModTime:  st.ModTime().Truncate(1e9),
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		h.Uid, h.Gid = int(sys.Uid), int(sys.Gid)
		h.Mode |= int64(sys.Mode & 0o7000)
	}
	return h
}
