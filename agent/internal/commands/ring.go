package commands

// ring keeps the last `limit` bytes of a stream, addressed by absolute
// offsets since the stream began. Its buffer grows with the output up to
// limit, so a command that prints a line costs a line, not the whole limit.
type ring struct {
	buf   []byte
	limit int
	total int64 // bytes ever written
}

func newRing(limit int) *ring { return &ring{limit: limit} }

// oldest is the offset of the oldest byte still kept.
func (r *ring) oldest() int64 { return r.total - int64(len(r.buf)) }

func (r *ring) write(p []byte) {
	if room := r.limit - len(r.buf); room > 0 && r.total == int64(len(r.buf)) {
		// Still growing (nothing dropped yet): append what fits.
		n := min(room, len(p))
		r.buf = append(r.buf, p[:n]...)
		r.total += int64(n)
		p = p[n:]
	}
	size := int64(len(r.buf))
	if len(p) == 0 || size == 0 {
		r.total += int64(len(p))
		return
	}
	if int64(len(p)) > size {
		r.total += int64(len(p)) - size
		p = p[int64(len(p))-size:]
	}
	for len(p) > 0 {
		at := r.total % size
		n := copy(r.buf[at:], p)
		p = p[n:]
		r.total += int64(n)
	}
}

// read returns up to max bytes from cursor. A cursor older than what is kept
// moves up to the oldest kept byte (dropped says by how much); one past the
// end moves back to the end.
func (r *ring) read(cursor int64, max int) (data []byte, used, next, dropped int64) {
	used = cursor
	if oldest := r.oldest(); used < oldest {
		dropped = oldest - used
		used = oldest
	}
	if used > r.total {
		used = r.total
	}
	n := min(int64(max), r.total-used)
	data = make([]byte, 0, n)
	size := int64(len(r.buf))
	for pos := used; pos < used+n; {
		at := pos % size
		chunk := r.buf[at:min(size, at+used+n-pos)]
		data = append(data, chunk...)
		pos += int64(len(chunk))
	}
	return data, used, used + n, dropped
}
