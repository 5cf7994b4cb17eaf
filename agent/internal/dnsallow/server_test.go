package dnsallow

import (
	"bytes"
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
	answer := s.Answer(query(1, "allowed.test", typeA), false)
	if answer == nil || binary.BigEndian.Uint16(answer[2:])&0xf != 0 || len(allowed) != 1 || allowed[0].String() != "198.51.100.10" {
		t.Fatalf("allowed: answer %x, allowed %v", answer, allowed)
	}
	// Another name: NXDOMAIN, never asked upstream, nothing allowed.
	answer = s.Answer(query(2, "other.test", typeA), false)
	if binary.BigEndian.Uint16(answer[2:])&0xf != RcodeNXDomain || *count != 1 || len(allowed) != 1 {
		t.Fatalf("other: answer %x, upstream queries %d, allowed %v", answer, *count, allowed)
	}
	// When the filter cannot take the address, the guest gets SERVFAIL, not the address.
	fail = errors.New("set full")
	answer = s.Answer(query(3, "allowed.test", typeA), false)
	if binary.BigEndian.Uint16(answer[2:])&0xf != RcodeServFail {
		t.Fatalf("failing allow: answer %x", answer)
	}
	// Garbage with a header gets FORMERR; shorter than a header, silence.
	if a := s.Answer(make([]byte, 12), false); a == nil || binary.BigEndian.Uint16(a[2:])&0xf != RcodeFormErr {
		t.Fatalf("garbage: %x", a)
	}
	if s.Answer([]byte{1, 2}, false) != nil {
		t.Fatal("a runt got an answer")
	}
}

// A truncated UDP answer makes the client retry over TCP: served, forwarded over TCP, bounded.
func TestServeTCP(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			msg, err := readFrame(c, MaxQuery)
			if err == nil {
				binary.BigEndian.PutUint16(msg[2:], 0x8180)
				binary.BigEndian.PutUint16(msg[6:], 1)
				msg = append(msg, 0xc0, 12, 0, typeA, 0, classIN, 0, 0, 0, 60, 0, 4, 203, 0, 113, 10)
				writeFrame(c, msg)
			}
			c.Close()
		}
	}()
	var allowed []netip.Addr
	s := &Server{
		Config:  &Config{Listen: "127.0.0.1:0", Upstream: up.Addr().String()},
		Matcher: NewMatcher([]string{"*.test"}),
		Allow:   func(a []netip.Addr) error { allowed = append(allowed, a...); return nil },
		Logf:    t.Logf,
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go s.serveTCP(listener, make(chan struct{}, 4))
	c, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writeFrame(c, query(9, "big.test", typeA))
	answer, err := readFrame(c, MaxTCPAnswer)
	if err != nil || binary.BigEndian.Uint16(answer) != 9 || len(allowed) != 1 || allowed[0].String() != "203.0.113.10" {
		t.Fatalf("answer %x, %v, allowed %v", answer, err, allowed)
	}
	// A length prefix beyond the bound is never read.
	if _, err := readFrame(bytes.NewReader([]byte{0xff, 0xff}), MaxQuery); err == nil {
		t.Fatal("an oversized frame was accepted")
	}
}
