package protocol

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

// seedVectors adds the bytes of every golden vector (frames, invalid frames,
// sync streams) to the fuzz corpus: the fuzzer starts from what the protocol
// really carries.
func seedVectors(f *testing.F) {
	for _, name := range []string{"frames.json", "invalid.json", "sync.json"} {
		raw, err := os.ReadFile(vectorDir + name)
		if err != nil {
			f.Fatal(err)
		}
		var vectors []struct {
			Hex string `json:"hex"`
		}
		if err := json.Unmarshal(raw, &vectors); err != nil {
			f.Fatal(err)
		}
		for _, v := range vectors {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzReadFrame: any byte stream decodes into valid frames followed by io.EOF
// at a frame boundary or a *FrameError (a protocol error: frame_too_large,
// unknown_kind, bad_control, truncated); never a panic, never a payload over
// MaxPayload, and every decoded frame re-encodes to exactly the bytes it came
// from.
func FuzzReadFrame(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(data)))
		var reencoded []byte
		for {
			frame, err := r.ReadFrame()
			if err == io.EOF {
				if !bytes.Equal(reencoded, data) {
					t.Fatalf("decoded frames re-encode to %x, input was %x", reencoded, data)
				}
				return
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("rejection is not a protocol error: %T %v", err, err)
				}
				if !bytes.HasPrefix(data, reencoded) {
					t.Fatalf("frames before the error are not a prefix of the input")
				}
				return
			}
			if len(frame.Payload) > MaxPayload {
				t.Fatalf("payload of %d bytes", len(frame.Payload))
			}
			if !frame.Kind.Valid() {
				t.Fatalf("decoded kind %d", frame.Kind)
			}
			if frame.Kind == KindControl && !ValidControl(frame.Payload) {
				t.Fatalf("control frame with payload %q accepted", frame.Payload)
			}
			enc, err := AppendFrame(reencoded, frame.Kind, frame.Stream, frame.Payload)
			if err != nil {
				t.Fatalf("a decoded frame does not encode: %v", err)
			}
			reencoded = enc
			if len(reencoded) > len(data) {
				t.Fatalf("decoded more bytes than the input holds")
			}
		}
	})
}

// FuzzScanSync: the marker scan finds the first PYROSYNC exactly where
// bytes.Index does and reports the garbage before it, or consumes everything.
func FuzzScanSync(f *testing.F) {
	seedVectors(f)
	f.Add([]byte("PYROPYROSYNC"))
	f.Add([]byte("PYROSYNPYROSYNC"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		skipped, err := ScanSync(r)
		at := bytes.Index(data, SyncMarker)
		if at < 0 {
			if err != io.EOF {
				t.Fatalf("no marker in the input, got err %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("marker at %d, got err %v", at, err)
		}
		if skipped != int64(at) {
			t.Fatalf("marker at %d, ScanSync skipped %d", at, skipped)
		}
		if rest := r.Len(); rest != len(data)-at-len(SyncMarker) {
			t.Fatalf("ScanSync read past the marker: %d bytes left, want %d", rest, len(data)-at-len(SyncMarker))
		}
	})
}
