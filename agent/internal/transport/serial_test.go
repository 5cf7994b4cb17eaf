package transport

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/session"
)

// fakePort behaves like a virtio-serial port read from the guest: reads
// return 0 bytes (EOF) while no host is connected, and the bytes a host
// wrote while one is.
type fakePort struct {
	mu     sync.Mutex
	chunks [][]byte
}

func (p *fakePort) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.chunks[0])
	if n == len(p.chunks[0]) {
		p.chunks = p.chunks[1:]
	} else {
		p.chunks[0] = p.chunks[0][n:]
	}
	return n, nil
}

func (p *fakePort) hostWrites(b []byte) {
	p.mu.Lock()
	p.chunks = append(p.chunks, b)
	p.mu.Unlock()
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestSerialSessionsOneAfterAnother(t *testing.T) {
	port := &fakePort{}
	var out lockedBuffer
	srv := &session.Server{AgentVersion: "t", Handlers: map[string]session.Handler{}, Logf: t.Logf}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lock := &sync.Mutex{}
	ended := make(chan error, 4)
	go func() {
		for ctx.Err() == nil {
			r := &serialReader{ctx: ctx, f: port}
			r.waiting.Store(true)
			ended <- srv.Serve(ctx, r, &out, session.Options{WriteLock: lock, OnSynced: func() { r.waiting.Store(false) }})
		}
	}()

	hello := func(nonce string) []byte {
		frame, _ := protocol.EncodeFrame(protocol.KindControl, 0, []byte(`{"op":"hello","protocol_version":1,"nonce":"`+nonce+`"}`))
		return append([]byte("PYROSYNC"), frame...)
	}
	// No host yet: the agent polls instead of ending sessions.
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-ended:
		t.Fatalf("a session ended with no host: %v", err)
	default:
	}
	// First host: stale bytes, then a hello; then it disconnects (EOF).
	port.hostWrites(append([]byte("\x00\x00\x10stale"), hello("first")...))
	select {
	case err := <-ended:
		if err != io.EOF {
			t.Fatalf("first session ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first session did not end at EOF")
	}
	// Second host.
	port.hostWrites(hello("second"))
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains([]byte(out.String()), []byte(`"nonce":"second"`)) {
		if time.Now().After(deadline) {
			t.Fatalf("no second hello; wrote %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if bytes.Count([]byte(out.String()), protocol.SyncMarker) != 2 {
		t.Fatalf("wrote %q", out.String())
	}
}

func TestNamedPorts(t *testing.T) {
	dir := t.TempDir()
	for vport, name := range map[string]string{"vport0p1": "pyro.agent.0\n", "vport0p2": "org.qemu.guest_agent.0\n", "vport0p3": "pyro.agent.1\n", "vport0p4": ""} {
		if err := os.MkdirAll(filepath.Join(dir, vport), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, vport, "name"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ports, unnamed, err := namedPorts(dir)
	if err != nil || !unnamed || strings.Join(ports, ",") != "vport0p1,vport0p3" {
		t.Fatalf("%v %v %v", ports, unnamed, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vport0p4", "name"), []byte("pyro.agent.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, unnamed, err = namedPorts(dir)
	if err != nil || unnamed || len(ports) != 3 {
		t.Fatalf("%v %v %v", ports, unnamed, err)
	}
}

func TestReconnectDelayStartsFastAndSettles(t *testing.T) {
	want := []time.Duration{1, 2, 4, 8, 16, 20, 20, 20, 20, 20}
	for quiet, w := range want {
		if got := reconnectDelay(quiet); got != w*time.Millisecond {
			t.Fatalf("reconnectDelay(%d) = %v, want %v", quiet, got, w*time.Millisecond)
		}
	}
	if got := reconnectDelay(1 << 20); got != reconnectPoll {
		t.Fatalf("a long-quiet port waits %v, want %v", got, reconnectPoll)
	}
}

func TestSerialReaderPollsFastAgainOnceDataCame(t *testing.T) {
	port := &fakePort{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &serialReader{ctx: ctx, f: port}
	r.waiting.Store(true)
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 16)
		n, _ := r.Read(buf)
		got <- buf[:n]
	}()
	// Quiet for a while: the reader backs off to the slow poll.
	time.Sleep(150 * time.Millisecond)
	port.hostWrites([]byte("hi"))
	select {
	case b := <-got:
		if string(b) != "hi" {
			t.Fatalf("read %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no read")
	}
	// Data reset the back-off: the next quiet spell starts at the fast poll again.
	if r.quiet != 0 {
		t.Fatalf("quiet = %d after data, want 0", r.quiet)
	}
}
