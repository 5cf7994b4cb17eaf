// Package protocol implements the pyro agent wire format of protocol/SPEC.md:
// length-prefixed frames multiplexed by stream id, the PYROSYNC marker that
// starts every session, and JSON control messages.
package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// Wire constants from protocol/SPEC.md.
const (
	// Version is the protocol version this package speaks.
	Version = 1
	// HeaderSize is the size of a frame header: length, kind, stream id.
	HeaderSize = 9
	// MaxPayload is the largest payload a frame may carry (1 MiB).
	MaxPayload = 1 << 20
)

// SyncMarker starts every session in both directions.
var SyncMarker = []byte("PYROSYNC")

// Kind is a frame kind.
type Kind uint8

// The frame kinds.
const (
	KindControl Kind = 1
	KindStdin   Kind = 2
	KindStdout  Kind = 3
	KindStderr  Kind = 4
)

// String returns the lower-case name used in the golden vectors.
func (k Kind) String() string {
	switch k {
	case KindControl:
		return "control"
	case KindStdin:
		return "stdin"
	case KindStdout:
		return "stdout"
	case KindStderr:
		return "stderr"
	}
	return "unknown"
}

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool { return k >= KindControl && k <= KindStderr }

// Frame is one decoded frame. Payload is owned by the frame.
type Frame struct {
	Kind    Kind
	Stream  uint32
	Payload []byte
}

// FrameError is a protocol violation found while decoding. Reason is one of
// the reasons used by protocol/vectors/invalid.json.
type FrameError struct {
	Reason string
}

func (e *FrameError) Error() string { return "protocol error: " + e.Reason }

// The decode errors; compare with errors.Is.
var (
	ErrFrameTooLarge = &FrameError{Reason: "frame_too_large"}
	ErrUnknownKind   = &FrameError{Reason: "unknown_kind"}
	ErrBadControl    = &FrameError{Reason: "bad_control"}
	ErrTruncated     = &FrameError{Reason: "truncated"}
)

// AppendFrame appends the encoding of one frame to dst.
func AppendFrame(dst []byte, kind Kind, stream uint32, payload []byte) ([]byte, error) {
	if !kind.Valid() {
		return dst, ErrUnknownKind
	}
	if len(payload) > MaxPayload {
		return dst, ErrFrameTooLarge
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, byte(kind))
	dst = binary.BigEndian.AppendUint32(dst, stream)
	return append(dst, payload...), nil
}

// EncodeFrame returns the encoding of one frame.
func EncodeFrame(kind Kind, stream uint32, payload []byte) ([]byte, error) {
	return AppendFrame(make([]byte, 0, HeaderSize+len(payload)), kind, stream, payload)
}

// ValidControl reports whether payload is one UTF-8 JSON object and nothing else.
func ValidControl(payload []byte) bool {
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && utf8.Valid(payload) && json.Valid(payload)
}

// Reader decodes frames from a byte stream, holding at most one payload.
type Reader struct {
	r   io.Reader
	hdr [HeaderSize]byte
}

// NewReader returns a Reader reading from r. Wrap r in a bufio.Reader when it
// is unbuffered; Reader issues two reads per frame.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// ReadFrame reads the next frame. It returns io.EOF only at a frame boundary,
// ErrTruncated when the stream ends inside a frame, and a *FrameError for a
// frame that breaks the protocol; after any error the stream is unusable.
func (r *Reader) ReadFrame() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return Frame{}, truncation(err)
	}
	length := binary.BigEndian.Uint32(r.hdr[0:4])
	kind := Kind(r.hdr[4])
	stream := binary.BigEndian.Uint32(r.hdr[5:9])
	if length > MaxPayload {
		return Frame{}, ErrFrameTooLarge
	}
	if !kind.Valid() {
		return Frame{}, ErrUnknownKind
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r.r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, truncation(err)
	}
	if kind == KindControl && !ValidControl(payload) {
		return Frame{}, ErrBadControl
	}
	return Frame{Kind: kind, Stream: stream, Payload: payload}, nil
}

func truncation(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}
