package ring

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func read(r *Ring, cursor int64, max int) (string, int64, int64, int64) {
	s := r.Read(cursor, max)
	return string(s.Data), s.Cursor, s.NextCursor, s.Dropped
}

func TestRingGrowsWithItsOutputUpToTheLimit(t *testing.T) {
	r := New(8)
	r.Write([]byte("abc"))
	if len(r.buf) != 3 {
		t.Fatalf("the ring grows with its output: len %d", len(r.buf))
	}
	if data, used, next, dropped := read(r, 0, 100); data != "abc" || used != 0 || next != 3 || dropped != 0 {
		t.Fatalf("got %q used=%d next=%d dropped=%d", data, used, next, dropped)
	}
}

func TestRingKeepsTheTailAndCountsWhatItDropped(t *testing.T) {
	r := New(8)
	r.Write([]byte("abcde"))
	r.Write([]byte("fghij")) // wraps: keeps "cdefghij"
	if data, used, next, dropped := read(r, 0, 100); data != "cdefghij" || used != 2 || next != 10 || dropped != 2 {
		t.Fatalf("got %q used=%d next=%d dropped=%d", data, used, next, dropped)
	}
	if data, _, next, _ := read(r, 6, 3); data != "ghi" || next != 9 {
		t.Fatalf("a slice across the wrap: %q next=%d", data, next)
	}
	r.Write(bytes.Repeat([]byte("z"), 20)) // larger than the ring at once
	if data, used, next, dropped := read(r, 5, 4); data != "zzzz" || used != 22 || next != 26 || dropped != 17 {
		t.Fatalf("got %q used=%d next=%d dropped=%d", data, used, next, dropped)
	}
	big := bytes.Repeat([]byte("0123456789"), 3)
	r.Write(big)
	if data, used, _, dropped := read(r, 0, 100); data != "23456789" || used != 52 || dropped != 52 {
		t.Fatalf("got %q used=%d dropped=%d", data, used, dropped)
	}
	if s := r.Read(0, 0); s.Total != 60 || r.Total() != 60 {
		t.Fatalf("total %d / %d, want 60", s.Total, r.Total())
	}
}

func TestRingCursorPastTheEndReadsNothingAtTheEnd(t *testing.T) {
	r := New(8)
	r.Write([]byte("abcdefghij"))
	if data, used, next, _ := read(r, 1000, 4); data != "" || used != 10 || next != 10 {
		t.Fatalf("got %q used=%d next=%d", data, used, next)
	}
}

func TestRingOfNoSizeCountsButKeepsNothing(t *testing.T) {
	r := New(0)
	r.Write([]byte("abc"))
	if data, used, next, dropped := read(r, 0, 10); data != "" || used != 3 || next != 3 || dropped != 3 {
		t.Fatalf("got %q used=%d next=%d dropped=%d", data, used, next, dropped)
	}
}

func TestPumpCopiesUntilTheWriterClosesThenSignalsDone(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r := New(1 << 20)
	done := make(chan struct{})
	go r.Pump(pr, done)
	want := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB: several reads
	if _, err := pw.Write(want); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("the pump ended while the writer was still open")
	default:
	}
	pw.Close()
	<-done
	if s := r.Read(0, len(want)+1); !bytes.Equal(s.Data, want) || s.Total != int64(len(want)) {
		t.Fatalf("pumped %d bytes (total %d), want %d", len(s.Data), s.Total, len(want))
	}
}

var _ io.Writer = (*Ring)(nil)
