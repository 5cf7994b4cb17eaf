package shells

import (
	"bytes"
	"testing"
)

func TestRing(t *testing.T) {
	r := newRing(8)
	r.write([]byte("abcde"))
	data, used, next, dropped := r.read(0, 100)
	if string(data) != "abcde" || used != 0 || next != 5 || dropped != 0 {
		t.Fatalf("%q %d %d %d", data, used, next, dropped)
	}
	r.write([]byte("fghij")) // wraps: keeps "cdefghij"
	data, used, next, dropped = r.read(0, 100)
	if string(data) != "cdefghij" || used != 2 || next != 10 || dropped != 2 {
		t.Fatalf("%q %d %d %d", data, used, next, dropped)
	}
	data, _, next, _ = r.read(6, 3)
	if string(data) != "ghi" || next != 9 {
		t.Fatalf("%q %d", data, next)
	}
	data, used, next, _ = r.read(50, 3)
	if len(data) != 0 || used != 10 || next != 10 {
		t.Fatalf("past the end: %q %d %d", data, used, next)
	}
	big := bytes.Repeat([]byte("0123456789"), 3) // longer than the ring
	r.write(big)
	data, used, _, dropped = r.read(0, 100)
	if string(data) != "23456789" || used != 32 || dropped != 32 {
		t.Fatalf("%q %d %d", data, used, dropped)
	}
}
