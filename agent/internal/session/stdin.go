package session

import (
	"errors"
	"io"
	"sync"
)

// stdinLimit bounds the STDIN bytes queued for one request. When a consumer
// falls this far behind, the session reader waits for it (backpressure on the
// whole session, as on any byte stream).
const stdinLimit = 4 << 20

// errStdinAbandoned is what a consumer reads once the session is over.
var errStdinAbandoned = errors.New("session: stdin abandoned")

// stdinQueue carries one request's STDIN frames from the session reader to
// its handler.
type stdinQueue struct {
	mu        sync.Mutex
	cond      *sync.Cond
	chunks    [][]byte
	size      int
	eof       bool
	abandoned bool
}

func newStdinQueue() *stdinQueue {
	q := &stdinQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push queues one STDIN payload; an empty one is end of file.
func (q *stdinQueue) push(b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.size >= stdinLimit && !q.abandoned {
		q.cond.Wait()
	}
	if q.abandoned || q.eof {
		return
	}
	if len(b) == 0 {
		q.eof = true
	} else {
		q.chunks = append(q.chunks, b)
		q.size += len(b)
	}
	q.cond.Broadcast()
}

// Read implements io.Reader for the handler.
func (q *stdinQueue) Read(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.chunks) == 0 && !q.eof && !q.abandoned {
		q.cond.Wait()
	}
	if q.abandoned {
		return 0, errStdinAbandoned
	}
	if len(q.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, q.chunks[0])
	if n == len(q.chunks[0]) {
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
	} else {
		q.chunks[0] = q.chunks[0][n:]
	}
	q.size -= n
	q.cond.Broadcast()
	return n, nil
}

// abandon drops everything queued and everything pushed later, and wakes
// both sides.
func (q *stdinQueue) abandon() {
	q.mu.Lock()
	q.abandoned = true
	q.chunks = nil
	q.size = 0
	q.cond.Broadcast()
	q.mu.Unlock()
}
