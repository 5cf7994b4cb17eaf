// Package ring keeps the tail of a process's output for clients that read it
// by absolute byte cursor: background commands and interactive shells both
// pump their output into a Ring and serve reads from it.
package ring

import (
	"io"
	"sync"
)

// Ring keeps the last `limit` bytes of a stream, addressed by absolute
// offsets since the stream began. Its buffer grows with the output up to
// limit, so a process that prints a line costs a line, not the whole limit.
// It is safe for concurrent use.
type Ring struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	total int64 // bytes ever written
}

// New returns an empty Ring that keeps at most limit bytes.
func New(limit int) *Ring { return &Ring{limit: limit} }

// Slice is what a Read returns.
type Slice struct {
	Data []byte
	// Cursor is where Data starts: the requested cursor, moved up to the
	// oldest byte kept when that had been dropped, or down to the end.
	Cursor int64
	// NextCursor is the cursor for the following read.
	NextCursor int64
	// Dropped counts requested bytes that were no longer kept.
	Dropped int64
	// Total counts the bytes ever written, as of this read.
	Total int64
}

// Write appends p, dropping the oldest bytes beyond the limit. It never fails
// (a Ring is an io.Writer so that Pump can io.Copy into it).
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if room := r.limit - len(r.buf); room > 0 && r.total == int64(len(r.buf)) {
		// Still growing (nothing dropped yet): append what fits.
		k := min(room, len(p))
		r.buf = append(r.buf, p[:k]...)
		r.total += int64(k)
		p = p[k:]
	}
	size := int64(len(r.buf))
	if len(p) == 0 || size == 0 {
		r.total += int64(len(p))
		return n, nil
	}
	if int64(len(p)) > size {
		r.total += int64(len(p)) - size
		p = p[int64(len(p))-size:]
	}
	for len(p) > 0 {
		at := r.total % size
		k := copy(r.buf[at:], p)
		p = p[k:]
		r.total += int64(k)
	}
	return n, nil
}

// Total counts the bytes ever written.
func (r *Ring) Total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Read returns up to max bytes from cursor. A cursor older than what is kept
// moves up to the oldest kept byte (Dropped says by how much); one past the
// end moves back to the end.
func (r *Ring) Read(cursor int64, max int) Slice {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := int64(len(r.buf))
	s := Slice{Cursor: cursor, Total: r.total}
	if oldest := r.total - size; s.Cursor < oldest {
		s.Dropped = oldest - s.Cursor
		s.Cursor = oldest
	}
	s.Cursor = min(s.Cursor, r.total)
	n := min(int64(max), r.total-s.Cursor)
	s.Data = make([]byte, 0, n)
	for pos := s.Cursor; pos < s.Cursor+n; {
		at := pos % size
		chunk := r.buf[at:min(size, at+s.Cursor+n-pos)]
		s.Data = append(s.Data, chunk...)
		pos += int64(len(chunk))
	}
	s.NextCursor = s.Cursor + n
	return s
}

// Pump copies src into r until src fails: EOF once every writer of a pipe
// closed it, EIO once every slave of a PTY did, or any error once the owner
// closed src. It closes done when it returns, so that the owner can tell
// that output written before a process exited has all arrived.
func (r *Ring) Pump(src io.Reader, done chan<- struct{}) {
	defer close(done)
	_, _ = io.Copy(r, src)
}
