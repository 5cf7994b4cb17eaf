package dnsallow

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// upstream answers every query with one A record, 198.51.100.10, and counts queries.
func upstream(t *testing.T) (string, *int) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	count := 0
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			count++
			msg := append([]byte{}, buf[:n]...)
			binary.BigEndian.PutUint16(msg[2:], 0x8180)
			binary.BigEndian.PutUint16(msg[6:], 1)
			msg = append(msg, 0xc0, 12, 0, typeA, 0, classIN, 0, 0, 0, 60, 0, 4, 198, 51, 100, 10)
			conn.WriteTo(msg, from)
		}
	}()
	return conn.LocalAddr().String(), &count
}

func TestServerAnswer(t *testing.T) {
	addr, count := upstream(t)
	var allowed []netip.Addr
	var fail error
	s := &Server{
		Config:  &Config{Upstream: addr},
		Matcher: NewMatcher([]string{"allowed.test"}),
		Allow: func(a []netip.Addr) error {
			allowed = append(allowed, a...)
			return fail
		},
		Logf: t.Logf,
	}
	// An allowed name: forwarded, its address allowed before the answer comes back.
	answer := s.Answer(query(1, "allowed.test", typeA))
	if answer == nil || binary.BigEndian.Uint16(answer[2:])&0xf != 0 || len(allowed) != 1 || allowed[0].String() != "198.51.100.10" {
		t.Fatalf("allowed: answer %x, allowed %v", answer, allowed)
	}
	// Another name: NXDOMAIN, never asked upstream, nothing allowed.
	answer = s.Answer(query(2, "other.test", typeA))
	if binary.BigEndian.Uint16(answer[2:])&0xf != RcodeNXDomain || *count != 1 || len(allowed) != 1 {
		t.Fatalf("other: answer %x, upstream queries %d, allowed %v", answer, *count, allowed)
	}
	// When the filter cannot take the address, the guest gets SERVFAIL, not the address.
	fail = errors.New("set full")
	answer = s.Answer(query(3, "allowed.test", typeA))
	if binary.BigEndian.Uint16(answer[2:])&0xf != RcodeServFail {
		t.Fatalf("failing allow: answer %x", answer)
	}
	// Garbage with a header gets FORMERR; shorter than a header, silence.
	if a := s.Answer(make([]byte, 12)); a == nil || binary.BigEndian.Uint16(a[2:])&0xf != RcodeFormErr {
		t.Fatalf("garbage: %x", a)
	}
	if s.Answer([]byte{1, 2}) != nil {
		t.Fatal("a runt got an answer")
	}
}
