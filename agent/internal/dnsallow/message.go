package dnsallow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
)

const (
	headerLen = 12
	// MaxQuery bounds a guest's query (plain DNS: 512 bytes; with EDNS a query is still small).
	MaxQuery = 512
	// MaxAnswer bounds an upstream answer over UDP (the largest EDNS size pyro accepts).
	MaxAnswer = 4096
	// MaxTCPAnswer bounds an upstream answer over TCP (what a truncated UDP answer is retried with).
	MaxTCPAnswer = 16384
	// maxRecords bounds the resource records read from one answer.
	maxRecords = 64
	// maxPointers bounds the compression pointers followed in one name.
	maxPointers = 16

	typeA    = 1
	typeAAAA = 28
	classIN  = 1

	// RcodeFormErr, RcodeServFail and RcodeNXDomain are the answers the resolver makes itself.
	RcodeFormErr  = 1
	RcodeServFail = 2
	RcodeNXDomain = 3
)

var errMalformed = errors.New("malformed DNS message")

// Question is the one question of a standard query.
type Question struct {
	Name string
	Type uint16
	// End is the offset just past the question in the message.
	End int
}

// ParseQuery checks a guest's query (a standard query with exactly one
// question) and returns its question.
func ParseQuery(msg []byte) (Question, error) {
	if len(msg) < headerLen || len(msg) > MaxQuery {
		return Question{}, errMalformed
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	// QR must be 0 (a query) and the opcode 0 (QUERY).
	if flags&0x8000 != 0 || (flags>>11)&0xf != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return Question{}, errMalformed
	}
	name, off, err := readName(msg, headerLen, true)
	if err != nil || off+4 > len(msg) {
		return Question{}, errMalformed
	}
	return Question{Name: name, Type: binary.BigEndian.Uint16(msg[off:]), End: off + 4}, nil
}

// Reply is the resolver's own answer to a query: its header with QR, RA and
// rcode set and no records, followed by the question (if it parsed).
func Reply(query []byte, q *Question, rcode uint16) []byte {
	end := headerLen
	if q != nil {
		end = q.End
	}
	out := make([]byte, end)
	copy(out, query[:end])
	flags := binary.BigEndian.Uint16(query[2:])
	// Keep the opcode and RD, set QR and RA.
	flags = (flags & 0x7900) | 0x8000 | 0x0080 | (rcode & 0xf)
	binary.BigEndian.PutUint16(out[2:], flags)
	qd := uint16(0)
	if q != nil {
		qd = 1
	}
	binary.BigEndian.PutUint16(out[4:], qd)
	for i := 6; i < headerLen; i++ {
		out[i] = 0
	}
	return out
}

// Addresses returns the A and AAAA addresses in an answer's answer section
// (at most maxRecords records are read; callers bound the message's size).
func Addresses(msg []byte) ([]netip.Addr, error) {
	if len(msg) < headerLen || len(msg) > MaxTCPAnswer || binary.BigEndian.Uint16(msg[2:])&0x8000 == 0 {
		return nil, errMalformed
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	if qd > 1 || an > maxRecords {
		return nil, errMalformed
	}
	off := headerLen
	for i := 0; i < qd; i++ {
		_, next, err := readName(msg, off, false)
		if err != nil || next+4 > len(msg) {
			return nil, errMalformed
		}
		off = next + 4
	}
	var addrs []netip.Addr
	for i := 0; i < an; i++ {
		_, next, err := readName(msg, off, false)
		if err != nil || next+10 > len(msg) {
			return nil, errMalformed
		}
		rtype := binary.BigEndian.Uint16(msg[next:])
		class := binary.BigEndian.Uint16(msg[next+2:])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
		data := next + 10
		if data+rdlen > len(msg) {
			return nil, errMalformed
		}
		if class == classIN && rtype == typeA && rdlen == 4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(msg[data:data+4])))
		} else if class == classIN && rtype == typeAAAA && rdlen == 16 {
			addrs = append(addrs, netip.AddrFrom16([16]byte(msg[data:data+16])).Unmap())
		}
		off = data + rdlen
	}
	return addrs, nil
}

// readName reads a (possibly compressed) name at off; it returns the name
// and the offset just past it in the message (past the first pointer, if any).
// Strict (a guest's question): labels of host-name characters only, so that
// no label can smuggle a dot or a byte that matches differently upstream.
func readName(msg []byte, off int, strict bool) (string, int, error) {
	var labels []string
	end := -1
	total := 0
	for pointers := 0; ; {
		if off >= len(msg) {
			return "", 0, errMalformed
		}
		n := int(msg[off])
		switch {
		case n == 0:
			if end < 0 {
				end = off + 1
			}
			return strings.Join(labels, "."), end, nil
		case n&0xc0 == 0xc0:
			if off+1 >= len(msg) || pointers >= maxPointers {
				return "", 0, errMalformed
			}
			if end < 0 {
				end = off + 2
			}
			pointers++
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
		case n&0xc0 != 0:
			return "", 0, errMalformed
		default:
			total += n + 1
			if off+1+n > len(msg) || total > 255 {
				return "", 0, errMalformed
			}
			label := msg[off+1 : off+1+n]
			if strict && !hostLabel(label) {
				return "", 0, errMalformed
			}
			labels = append(labels, string(label))
			off += 1 + n
		}
	}
}

func hostLabel(label []byte) bool {
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
