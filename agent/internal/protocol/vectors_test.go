package protocol

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
	"testing/iotest"
)

const vectorDir = "../../../protocol/vectors/"

type frameVector struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Stream   uint32          `json:"stream"`
	JSON     json.RawMessage `json:"json"`
	JSONText *string         `json:"json_text"`
	DataB64  *string         `json:"data_b64"`
	Hex      string          `json:"hex"`
}

func (v frameVector) payload(t *testing.T) []byte {
	t.Helper()
	if v.JSONText != nil {
		return []byte(*v.JSONText)
	}
	if v.DataB64 == nil {
		t.Fatalf("%s: neither json_text nor data_b64", v.Name)
	}
	b, err := base64.StdEncoding.DecodeString(*v.DataB64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadJSON(t *testing.T, name string, into any) {
	t.Helper()
	raw, err := os.ReadFile(vectorDir + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatal(err)
	}
}

func kindByName(t *testing.T, name string) Kind {
	for k := KindControl; k <= KindStderr; k++ {
		if k.String() == name {
			return k
		}
	}
	t.Fatalf("unknown kind %q", name)
	return 0
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameJSON(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		t.Fatalf("not json: %q / %q", a, b)
	}
	return reflect.DeepEqual(x, y)
}

func TestFrameVectorsEncode(t *testing.T) {
	var vectors []frameVector
	loadJSON(t, "frames.json", &vectors)
	if len(vectors) < 10 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		got, err := EncodeFrame(kindByName(t, v.Kind), v.Stream, v.payload(t))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if hex.EncodeToString(got) != v.Hex {
			t.Errorf("%s: encoded %x, want %s", v.Name, got, v.Hex)
		}
	}
}

func TestFrameVectorsDecode(t *testing.T) {
	var vectors []frameVector
	loadJSON(t, "frames.json", &vectors)
	var all []byte
	for _, v := range vectors {
		raw := mustHex(t, v.Hex)
		all = append(all, raw...)
		f, err := NewReader(bytes.NewReader(raw)).ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		checkFrame(t, v, f)
	}
	// The same frames back to back, read one byte at a time.
	r := NewReader(iotest.OneByteReader(bytes.NewReader(all)))
	for _, v := range vectors {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%s (concatenated): %v", v.Name, err)
		}
		checkFrame(t, v, f)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func checkFrame(t *testing.T, v frameVector, f Frame) {
	t.Helper()
	if f.Kind.String() != v.Kind || f.Stream != v.Stream {
		t.Errorf("%s: kind %v stream %d", v.Name, f.Kind, f.Stream)
	}
	if !bytes.Equal(f.Payload, v.payload(t)) {
		t.Errorf("%s: payload %q", v.Name, f.Payload)
	}
	if v.JSONText != nil && !sameJSON(t, f.Payload, v.JSON) {
		t.Errorf("%s: json differs", v.Name)
	}
}

func TestInvalidVectors(t *testing.T) {
	var vectors []struct {
		Name  string `json:"name"`
		Hex   string `json:"hex"`
		Error string `json:"error"`
	}
	loadJSON(t, "invalid.json", &vectors)
	for _, v := range vectors {
		r := NewReader(bytes.NewReader(mustHex(t, v.Hex)))
		var err error
		for err == nil {
			_, err = r.ReadFrame()
		}
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Reason != v.Error {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
	}
}

func TestSyncVectors(t *testing.T) {
	var vectors []struct {
		Name    string `json:"name"`
		Hex     string `json:"hex"`
		Skipped int64  `json:"skipped"`
		Frames  []frameVector
	}
	loadJSON(t, "sync.json", &vectors)
	for _, v := range vectors {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(mustHex(t, v.Hex))
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			br := bufio.NewReader(src)
			skipped, err := ScanSync(br)
			if err != nil || skipped != v.Skipped {
				t.Fatalf("%s: skipped %d, err %v; want %d", v.Name, skipped, err, v.Skipped)
			}
			r := NewReader(br)
			for _, want := range v.Frames {
				f, err := r.ReadFrame()
				if err != nil {
					t.Fatalf("%s: %v", v.Name, err)
				}
				if f.Kind.String() != want.Kind || f.Stream != want.Stream {
					t.Fatalf("%s: got %v/%d", v.Name, f.Kind, f.Stream)
				}
				if want.DataB64 != nil && !bytes.Equal(f.Payload, want.payload(t)) {
					t.Fatalf("%s: payload %q", v.Name, f.Payload)
				}
				if want.JSON != nil && !sameJSON(t, f.Payload, want.JSON) {
					t.Fatalf("%s: json %s", v.Name, f.Payload)
				}
			}
			if _, err := r.ReadFrame(); err != io.EOF {
				t.Fatalf("%s: trailing %v", v.Name, err)
			}
		}
	}
}

func TestScanSyncWithoutMarker(t *testing.T) {
	_, err := ScanSync(bufio.NewReader(bytes.NewReader([]byte("PYROSYN"))))
	if err != io.EOF {
		t.Fatalf("got %v", err)
	}
}

func TestEncodeRejectsOversize(t *testing.T) {
	if _, err := EncodeFrame(KindStdout, 1, make([]byte, MaxPayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v", err)
	}
	if _, err := EncodeFrame(KindStdout, 1, make([]byte, MaxPayload)); err != nil {
		t.Fatalf("1 MiB exactly: %v", err)
	}
	if _, err := EncodeFrame(Kind(9), 1, nil); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("got %v", err)
	}
}

func TestWithType(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, `{"type":"result"}`},
		{struct{}{}, `{"type":"result"}`},
		{map[string]int{"count": 2}, `{"type":"result","count":2}`},
	}
	for _, c := range cases {
		got, err := WithType("result", c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("WithType(%v) = %s, %v", c.v, got, err)
		}
	}
	if got := string(ErrorMessage("not_found", "no \"x\"")); got != `{"type":"error","code":"not_found","message":"no \"x\""}` {
		t.Errorf("ErrorMessage = %s", got)
	}
}

func TestWriterClosedWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	if err := w.WriteSyncFrame(KindControl, 0, []byte(`{"type":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := w.WriteFrame(KindStdout, 1, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), SyncMarker) || bytes.Contains(buf.Bytes(), []byte("late")) {
		t.Fatalf("wrote %q", buf.Bytes())
	}
}
