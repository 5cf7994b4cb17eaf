package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The HTTP readiness check is written over net rather than net/http: the
// agent is the guest's init, and net/http with crypto/tls (and their package
// initialisation) doubled the binary and its start-up time under emulation.
// It needs only the status line of one GET.

// maxStatusLine bounds what checkHTTP reads before the status line's end.
const maxStatusLine = 4 << 10

// checkHTTP sends one GET for url (no proxy, no redirects followed: a 3xx
// already counts as ready) and judges the status line. For https URLs the
// check is that a TLS server answers a ClientHello with a ServerHello: the
// agent carries no TLS stack, so neither the certificate nor the HTTP status
// behind it is checked.
func checkHTTP(ctx context.Context, rawURL string) (bool, string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false, fmt.Sprintf("http %s: not an http(s) URL", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return false, fmt.Sprintf("http %s: %v", rawURL, unwrapNetError(err))
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if u.Scheme == "https" {
		return checkTLS(conn, rawURL, u.Hostname())
	}
	target := u.RequestURI()
	host := u.Host
	req := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: pyro-agent\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return false, fmt.Sprintf("http %s: %v", rawURL, unwrapNetError(err))
	}
	line, err := readStatusLine(bufio.NewReaderSize(conn, 512))
	if err != nil {
		return false, fmt.Sprintf("http %s: %v", rawURL, unwrapNetError(err))
	}
	code, status, ok := parseStatusLine(line)
	if !ok {
		return false, fmt.Sprintf("http %s: malformed status line %q", rawURL, line)
	}
	detail := fmt.Sprintf("http %s answered %s", rawURL, status)
	return code >= 200 && code < 400, detail
}

// readStatusLine reads the response's first line, at most maxStatusLine
// bytes. (A GET without Expect: or Upgrade: gets no interim 1xx response.)
func readStatusLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxStatusLine {
			return "", errors.New("status line too long")
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) == 0 {
			return "", fmt.Errorf("connection closed before a response: %w", err)
		}
		return "", fmt.Errorf("incomplete status line: %w", err)
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// parseStatusLine splits "HTTP/1.1 200 OK" into 200 and "200 OK" (the form
// net/http's Response.Status has).
func parseStatusLine(line string) (int, string, bool) {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/") {
		return 0, "", false
	}
	rest = strings.TrimLeft(rest, " ")
	codeText, reason, _ := strings.Cut(rest, " ")
	if len(codeText) != 3 {
		return 0, "", false
	}
	code, err := strconv.Atoi(codeText)
	if err != nil || code < 100 {
		return 0, "", false
	}
	if reason == "" {
		return code, codeText, true
	}
	return code, codeText + " " + reason, true
}

// checkTLS sends a TLS ClientHello (offering 1.3 and 1.2) and waits for the
// first record: a ServerHello (or HelloRetryRequest) means ready.
func checkTLS(conn net.Conn, rawURL, host string) (bool, string) {
	if _, err := conn.Write(clientHello(host)); err != nil {
		return false, fmt.Sprintf("https %s: %v", rawURL, unwrapNetError(err))
	}
	var hdr [6]byte
	if _, err := readFull(conn, hdr[:]); err != nil {
		return false, fmt.Sprintf("https %s: no TLS answer: %v", rawURL, unwrapNetError(err))
	}
	switch {
	case hdr[0] == 0x16 && hdr[5] == 2:
		return true, fmt.Sprintf("https %s answered a TLS handshake (certificate and HTTP status not checked)", rawURL)
	case hdr[0] == 0x15:
		return false, fmt.Sprintf("https %s: TLS alert %d", rawURL, hdr[5])
	}
	return false, fmt.Sprintf("https %s: not a TLS server (first bytes % x)", rawURL, hdr[:])
}

func readFull(conn net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := conn.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// clientHello builds one TLS record holding a ClientHello that common
// servers (OpenSSL, Go, nginx) answer: TLS 1.3 with an x25519 key share and
// TLS 1.2 ECDHE suites, SNI when host is a name.
func clientHello(host string) []byte {
	random := make([]byte, 32+32+32)
	_, _ = unix.Getrandom(random, 0)
	var ext bytes.Buffer
	addExt := func(typ uint16, body []byte) {
		_ = binary.Write(&ext, binary.BigEndian, typ)
		_ = binary.Write(&ext, binary.BigEndian, uint16(len(body)))
		ext.Write(body)
	}
	if host != "" && net.ParseIP(host) == nil {
		name := []byte(host)
		sni := binary.BigEndian.AppendUint16(nil, uint16(len(name)+3))
		sni = append(sni, 0)
		sni = binary.BigEndian.AppendUint16(sni, uint16(len(name)))
		addExt(0x0000, append(sni, name...))
	}
	addExt(0x000a, []byte{0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18}) // groups: x25519, P-256, P-384
	addExt(0x000b, []byte{1, 0})                                     // point formats: uncompressed
	addExt(0x000d, []byte{0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1})
	addExt(0x002b, []byte{4, 3, 4, 3, 3}) // supported versions: 1.3, 1.2
	keyShare := []byte{0, 36, 0x00, 0x1d, 0, 32}
	addExt(0x0033, append(keyShare, random[64:96]...))
	suites := []byte{0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x13, 0xc0, 0x14, 0x00, 0x9c, 0x00, 0x9d, 0x00, 0x2f, 0x00, 0x35}
	var body bytes.Buffer
	body.Write([]byte{3, 3})
	body.Write(random[:32])
	body.WriteByte(32)
	body.Write(random[32:64])
	_ = binary.Write(&body, binary.BigEndian, uint16(len(suites)))
	body.Write(suites)
	body.Write([]byte{1, 0})
	_ = binary.Write(&body, binary.BigEndian, uint16(ext.Len()))
	body.Write(ext.Bytes())
	hs := []byte{1, byte(body.Len() >> 16), byte(body.Len() >> 8), byte(body.Len())}
	hs = append(hs, body.Bytes()...)
	rec := []byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}
