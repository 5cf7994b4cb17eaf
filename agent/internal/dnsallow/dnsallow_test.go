package dnsallow

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

func TestMatcher(t *testing.T) {
	m := NewMatcher([]string{"allowed.test", "*.example.com"})
	for name, want := range map[string]bool{
		"allowed.test": true, "ALLOWED.test.": true, "other.test": false, "x.allowed.test": false,
		"a.example.com": true, "a.b.example.com": true, "example.com": false, "badexample.com": false,
	} {
		if got := m.Allows(name); got != want {
			t.Errorf("Allows(%q) = %v, want %v", name, got, want)
		}
	}
}

func encodeName(name string) []byte {
	var out []byte
	for _, label := range strings.Split(name, ".") {
		out = append(out, byte(len(label)))
		out = append(out, label...)
	}
	return append(out, 0)
}

func query(id uint16, name string, qtype uint16) []byte {
	msg := make([]byte, headerLen)
	binary.BigEndian.PutUint16(msg, id)
	binary.BigEndian.PutUint16(msg[2:], 0x0100)
	binary.BigEndian.PutUint16(msg[4:], 1)
	msg = append(msg, encodeName(name)...)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(msg, qtype), classIN)
}

func TestQueryAndReply(t *testing.T) {
	msg := query(0x1234, "Other.test", typeA)
	q, err := ParseQuery(msg)
	if err != nil || q.Name != "Other.test" || q.Type != typeA || q.End != len(msg) {
		t.Fatalf("ParseQuery = %+v, %v", q, err)
	}
	r := Reply(msg, &q, RcodeNXDomain)
	if binary.BigEndian.Uint16(r) != 0x1234 || binary.BigEndian.Uint16(r[2:])&0x800f != 0x8003 || len(r) != len(msg) {
		t.Fatalf("Reply = %x", r)
	}
	// A label with a dot inside is refused: it would match "allowed.test" here and mean another name upstream.
	bad := append(append([]byte{}, msg[:headerLen]...), append([]byte{12}, "allowed.test"...)...)
	bad = append(bad, 0, 0, 1, 0, 1)
	if _, err := ParseQuery(bad); err == nil {
		t.Fatal("a label with a dot parsed")
	}
	if _, err := ParseQuery(msg[:14]); err == nil {
		t.Fatal("a truncated query parsed")
	}
}

func TestAddresses(t *testing.T) {
	msg := query(7, "allowed.test", typeA)
	binary.BigEndian.PutUint16(msg[2:], 0x8180)
	binary.BigEndian.PutUint16(msg[6:], 2)
	// Two answers, names compressed to the question (offset 12).
	msg = append(msg, 0xc0, 12, 0, typeA, 0, classIN, 0, 0, 0, 60, 0, 4, 198, 51, 100, 10)
	msg = append(msg, 0xc0, 12, 0, typeAAAA, 0, classIN, 0, 0, 0, 60, 0, 16)
	msg = append(msg, netip.MustParseAddr("2001:db8::1").AsSlice()...)
	addrs, err := Addresses(msg)
	if err != nil || len(addrs) != 2 || addrs[0].String() != "198.51.100.10" || addrs[1].String() != "2001:db8::1" {
		t.Fatalf("Addresses = %v, %v", addrs, err)
	}
	// A pointer loop ends as malformed, not as a hang.
	loop := append(append([]byte{}, msg[:headerLen]...), 0xc0, 12)
	binary.BigEndian.PutUint16(loop[6:], 0)
	if _, err := Addresses(loop); err == nil {
		t.Fatal("a pointer loop parsed")
	}
	// An rdata running past the end is malformed.
	if _, err := Addresses(msg[:len(msg)-1]); err == nil {
		t.Fatal("a truncated answer parsed")
	}
}
