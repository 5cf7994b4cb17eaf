package wsfiles

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// ReadResult describes what Read sent; Path is relative to the root.
type ReadResult struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	BytesRead int64  `json:"bytes_read"`
	Truncated bool   `json:"truncated"`
	Mode      string `json:"mode"`
}

// WriteResult describes what Write did; Path is relative to the root.
type WriteResult struct {
	Path         string `json:"path"`
	BytesWritten int64  `json:"bytes_written"`
	SizeBytes    int64  `json:"size_bytes"`
	Created      bool   `json:"created"`
}

func modeText(st *unix.Stat_t) string { return fmt.Sprintf("%04o", st.Mode&0o7777) }

// regularFile fails unless st is a regular file; what names it for the message.
func (r *Root) regularFile(rel string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFDIR:
		return agenterr.New(agenterr.BadRequest, "%s is a directory, not a file (list it instead)", r.Abs(rel))
	default:
		return agenterr.New(agenterr.BadRequest, "%s is not a regular file (a device, FIFO or socket)", r.Abs(rel))
	}
}

// Read sends at most maxBytes of the regular file rel to w, never more: a
// huge file costs maxBytes+1 bytes of reading.
func (r *Root) Read(rel string, maxBytes int64, w io.Writer) (ReadResult, error) {
	// O_NONBLOCK: a FIFO put in the tree must not hang the open.
	fd, err := r.Open(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return ReadResult{}, err
	}
	f := os.NewFile(uintptr(fd), r.Abs(rel))
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ReadResult{}, agenterr.Wrap(agenterr.IO, err, "stat %s", r.Abs(rel))
	}
	if err := r.regularFile(rel, &st); err != nil {
		return ReadResult{}, err
	}
	n, err := io.Copy(w, io.LimitReader(f, maxBytes))
	if err != nil {
		return ReadResult{}, agenterr.Wrap(agenterr.IO, err, "read %s", r.Abs(rel))
	}
	// One more byte says whether the file goes on past the cut (its size may lie: it can grow).
	var one [1]byte
	more, _ := f.Read(one[:])
	size := st.Size
	if n+int64(more) > size {
		size = n + int64(more)
	}
	return ReadResult{Path: rel, SizeBytes: size, BytesRead: n, Truncated: more > 0, Mode: modeText(&st)}, nil
}

// Write replaces the content of the regular file rel with data, as a shell's
// `>` would: missing parent directories are made (mkdir -p), an existing file
// keeps its inode, mode and owner, a new one gets 0666 less the umask.
func (r *Root) Write(rel string, data []byte) (WriteResult, error) {
	if rel == "" {
		return WriteResult{}, agenterr.New(agenterr.BadRequest, "%s is a directory, not a file", r.name)
	}
	parent, _ := splitRel(rel)
	if _, err := r.MkdirAll(parent); err != nil {
		return WriteResult{}, err
	}
	const flags = unix.O_WRONLY | unix.O_NONBLOCK | unix.O_NOCTTY
	created := false
	fd, err := r.Open(rel, flags, 0)
	if agenterr.Is(err, agenterr.NotFound) {
		created = true
		fd, err = r.Open(rel, flags|unix.O_CREAT|unix.O_EXCL, 0o666)
		if agenterr.Is(err, agenterr.Exists) {
			return WriteResult{}, agenterr.New(agenterr.BadRequest, "%s is a dangling symlink (or appeared meanwhile); write to its target instead", r.Abs(rel))
		}
	}
	if err != nil {
		return WriteResult{}, err
	}
	f := os.NewFile(uintptr(fd), r.Abs(rel))
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return WriteResult{}, agenterr.Wrap(agenterr.IO, err, "stat %s", r.Abs(rel))
	}
	if err := r.regularFile(rel, &st); err != nil {
		return WriteResult{}, err
	}
	if created {
		if err := r.chownNew(fd, rel); err != nil {
			return WriteResult{}, err
		}
	}
	if err := unix.Ftruncate(fd, 0); err != nil {
		return WriteResult{}, agenterr.Wrap(agenterr.IO, err, "truncate %s", r.Abs(rel))
	}
	n, err := f.Write(data)
	if err != nil {
		return WriteResult{}, agenterr.Wrap(agenterr.IO, err, "write %s", r.Abs(rel))
	}
	return WriteResult{Path: rel, BytesWritten: int64(n), SizeBytes: int64(n), Created: created}, nil
}
