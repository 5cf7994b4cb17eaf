package protocol

import (
	"errors"
	"io"
	"sync"
)

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("protocol: session closed")

// Writer writes whole frames to a byte stream, one at a time. Several
// sessions may share one lock (a serial port outlives its sessions): a write
// of a closed session that was blocked on the lock then writes nothing, so
// its bytes can never land inside a later session's frames.
type Writer struct {
	lock   *sync.Mutex
	w      io.Writer
	closed bool
	buf    []byte
}

// NewWriter returns a Writer on w. lock serialises writers sharing w; nil
// means a lock of its own.
func NewWriter(w io.Writer, lock *sync.Mutex) *Writer {
	if lock == nil {
		lock = &sync.Mutex{}
	}
	return &Writer{lock: lock, w: w}
}

// WriteFrame writes one frame.
func (w *Writer) WriteFrame(kind Kind, stream uint32, payload []byte) error {
	return w.write(nil, kind, stream, payload)
}

// WriteSyncFrame writes SyncMarker and then one frame, with no other writer
// in between.
func (w *Writer) WriteSyncFrame(kind Kind, stream uint32, payload []byte) error {
	return w.write(SyncMarker, kind, stream, payload)
}

// WriteControl writes v, marshalled as a JSON object, as a CONTROL frame.
func (w *Writer) WriteControl(stream uint32, v any) error {
	payload, err := MarshalControl(v)
	if err != nil {
		return err
	}
	return w.WriteFrame(KindControl, stream, payload)
}

func (w *Writer) write(prefix []byte, kind Kind, stream uint32, payload []byte) error {
	w.lock.Lock()
	defer w.lock.Unlock()
	if w.closed {
		return ErrClosed
	}
	buf, err := AppendFrame(append(w.buf[:0], prefix...), kind, stream, payload)
	if err != nil {
		return err
	}
	_, err = w.w.Write(buf)
	if cap(buf) <= 64<<10 {
		w.buf = buf
	}
	return err
}

// Close makes every later write fail with ErrClosed. It waits for a write in
// progress to finish.
func (w *Writer) Close() {
	w.lock.Lock()
	w.closed = true
	w.lock.Unlock()
}
