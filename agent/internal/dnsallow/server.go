package dnsallow

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config is the resolver's configuration file, written by pyro into the
// machine directory (0600).
type Config struct {
	// Listen is the UDP address served inside the machine's namespace (127.0.0.1:53).
	Listen string `json:"listen"`
	// Upstream is the user-mode stack's DNS forwarder (10.0.2.3:53).
	Upstream string `json:"upstream"`
	// Hosts are the allow-list patterns.
	Hosts []string `json:"hosts"`
	// Mark is put on upstream sockets (SO_MARK): the egress filter lets only
	// marked DNS reach the forwarder, so the guest cannot bypass the resolver.
	Mark int `json:"mark"`
	// Table, Set4 and Set6 name the nftables sets resolved addresses go to.
	Table string `json:"table"`
	Set4  string `json:"set4"`
	Set6  string `json:"set6"`
}

const (
	maxConfig   = 1 << 20
	maxInFlight = 32
	upstreamTTL = 3 * time.Second
)

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c Config
	dec := json.NewDecoder(&limitedReader{f, maxConfig})
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Listen == "" || c.Upstream == "" || c.Table == "" || c.Set4 == "" || c.Set6 == "" || len(c.Hosts) == 0 {
		return nil, fmt.Errorf("config %s: listen, upstream, hosts, table, set4 and set6 are required", path)
	}
	return &c, nil
}

type limitedReader struct {
	f *os.File
	n int
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, fmt.Errorf("config larger than %d bytes", maxConfig)
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	n, err := r.f.Read(p)
	r.n -= n
	return n, err
}

// Server answers queries for allowed names through the upstream forwarder
// and refuses the rest with NXDOMAIN.
type Server struct {
	Config  *Config
	Matcher *Matcher
	// Allow adds resolved addresses to the egress filter's sets; it must
	// succeed before the guest sees the answer.
	Allow func(addrs []netip.Addr) error
	Logf  func(format string, args ...any)
}

// Serve listens on the configured address (UDP, and TCP for answers too
// large for UDP), calls ready once bound, and serves until ctx ends.
func (s *Server) Serve(ctx context.Context, ready func()) error {
	conn, err := net.ListenPacket("udp", s.Config.Listen)
	if err != nil {
		return err
	}
	defer conn.Close()
	listener, err := net.Listen("tcp", s.Config.Listen)
	if err != nil {
		return err
	}
	defer listener.Close()
	go func() {
		<-ctx.Done()
		conn.Close()
		listener.Close()
	}()
	ready()
	slots := make(chan struct{}, maxInFlight)
	go s.serveTCP(listener, slots)
	for {
		buf := make([]byte, MaxQuery+1)
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n > MaxQuery {
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			// Too many queries in flight: drop this one (the guest retries).
			continue
		}
		go func(query []byte, from net.Addr) {
			defer func() { <-slots }()
			if answer := s.Answer(query, false); answer != nil {
				conn.WriteTo(answer, from)
			}
		}(buf[:n], from)
	}
}

// serveTCP answers one length-prefixed query per connection, sharing the in-flight bound.
func (s *Server) serveTCP(listener net.Listener, slots chan struct{}) {
	for {
		c, err := listener.Accept()
		if err != nil {
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		go func() {
			defer func() { <-slots }()
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * upstreamTTL))
			query, err := readFrame(c, MaxQuery)
			if err != nil {
				return
			}
			if answer := s.Answer(query, true); answer != nil {
				writeFrame(c, answer)
			}
		}()
	}
}

// readFrame reads one DNS-over-TCP message (2-byte length, then the message) of at most max bytes.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var size [2]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(size[:]))
	if n > max {
		return nil, fmt.Errorf("message of %d bytes, more than %d", n, max)
	}
	msg := make([]byte, n)
	_, err := io.ReadFull(r, msg)
	return msg, err
}

func writeFrame(w io.Writer, msg []byte) error {
	_, err := w.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...))
	return err
}

// Answer is the resolver's answer to one query (over TCP when tcp), or nil to stay silent.
func (s *Server) Answer(query []byte, tcp bool) []byte {
	q, err := ParseQuery(query)
	if err != nil {
		if len(query) >= headerLen {
			return Reply(query, nil, RcodeFormErr)
		}
		return nil
	}
	if !s.Matcher.Allows(q.Name) {
		return Reply(query, &q, RcodeNXDomain)
	}
	answer, err := s.forward(query, tcp)
	if err != nil {
		s.Logf("forward %s: %v", q.Name, err)
		return Reply(query, &q, RcodeServFail)
	}
	addrs, err := Addresses(answer)
	if err != nil {
		s.Logf("answer for %s: %v", q.Name, err)
		return Reply(query, &q, RcodeServFail)
	}
	if len(addrs) > 0 {
		if err := s.Allow(addrs); err != nil {
			s.Logf("allow %v: %v", addrs, err)
			return Reply(query, &q, RcodeServFail)
		}
	}
	return answer
}

// forward sends the query to the upstream forwarder from a fresh, marked
// socket (UDP, or TCP) and returns the answer with the same id.
func (s *Server) forward(query []byte, tcp bool) ([]byte, error) {
	dialer := net.Dialer{
		Timeout: upstreamTTL,
		Control: func(_, _ string, raw syscall.RawConn) error {
			if s.Config.Mark == 0 {
				return nil
			}
			var serr error
			if err := raw.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, s.Config.Mark)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	network := "udp"
	if tcp {
		network = "tcp"
	}
	conn, err := dialer.Dial(network, s.Config.Upstream)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(upstreamTTL))
	if tcp {
		if err := writeFrame(conn, query); err != nil {
			return nil, err
		}
		answer, err := readFrame(conn, MaxTCPAnswer)
		if err != nil {
			return nil, err
		}
		if len(answer) < headerLen || answer[0] != query[0] || answer[1] != query[1] {
			return nil, fmt.Errorf("upstream answered another query")
		}
		return answer, nil
	}
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, MaxAnswer+1)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if n > MaxAnswer {
			return nil, fmt.Errorf("answer larger than %d bytes", MaxAnswer)
		}
		if n >= headerLen && buf[0] == query[0] && buf[1] == query[1] {
			return buf[:n], nil
		}
	}
}

// NftAllow returns an Allow that adds addresses to the configured sets with the nft tool.
func NftAllow(c *Config) func([]netip.Addr) error {
	table := strings.Fields(c.Table)
	return func(addrs []netip.Addr) error {
		var v4, v6 []string
		for _, a := range addrs {
			if a.Is4() {
				v4 = append(v4, a.String())
			} else {
				v6 = append(v6, a.String())
			}
		}
		for _, set := range []struct {
			name  string
			elems []string
		}{{c.Set4, v4}, {c.Set6, v6}} {
			if len(set.elems) == 0 {
				continue
			}
			args := append(append([]string{"add", "element"}, table...), set.name, "{ "+strings.Join(set.elems, ", ")+" }")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := exec.CommandContext(ctx, "nft", args...).CombinedOutput()
			cancel()
			if err != nil {
				return fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
		}
		return nil
	}
}
