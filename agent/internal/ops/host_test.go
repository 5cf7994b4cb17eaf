package ops

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/secrets"
	"pyro-mcp/agent/internal/services"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/shells"
)

// testHost is the host end of a session with an in-process agent.
type testHost struct {
	t      *testing.T
	conn   net.Conn
	writer *protocol.Writer
	served chan error

	mu      sync.Mutex
	frames  map[uint32][]protocol.Frame
	arrived chan struct{}
	readErr error
}

// testDeps gives a session real managers whose files live in a temp dir.
func testDeps(t *testing.T) Deps {
	dir := t.TempDir()
	svc := services.NewManager(services.Config{BaseDir: filepath.Join(dir, "services")})
	sh := shells.NewManager(shells.Config{})
	t.Cleanup(func() {
		svc.StopAll(time.Second)
		sh.CloseAll()
	})
	return Deps{Shells: sh, Services: svc, Secrets: &secrets.Store{Dir: filepath.Join(dir, "secrets")}}
}

// newHost starts a session over net.Pipe and performs the hello.
func newHost(t *testing.T) (*testHost, map[string]any) {
	t.Helper()
	return newHostWith(t, testDeps(t))
}

// newHostWith is newHost with the given handler dependencies.
func newHostWith(t *testing.T, deps Deps) (*testHost, map[string]any) {
	t.Helper()
	agentEnd, hostEnd := net.Pipe()
	handlers, caps := Registry(deps)
	srv := &session.Server{AgentVersion: "test", Handlers: handlers, Capabilities: caps, Logf: t.Logf}
	h := &testHost{t: t, conn: hostEnd, writer: protocol.NewWriter(hostEnd, nil), served: make(chan error, 1),
		frames: map[uint32][]protocol.Frame{}, arrived: make(chan struct{}, 1)}
	go func() {
		h.served <- srv.Serve(context.Background(), agentEnd, agentEnd, session.Options{})
		agentEnd.Close()
	}()
	t.Cleanup(func() { hostEnd.Close() })

	// Bytes a dead session left behind come before the marker.
	if _, err := hostEnd.Write([]byte("stale half frame\x00\x00\x01")); err != nil {
		t.Fatal(err)
	}
	if err := h.writer.WriteSyncFrame(protocol.KindControl, 0, []byte(`{"op":"hello","protocol_version":1,"nonce":"n0nce","client":"test"}`)); err != nil {
		t.Fatal(err)
	}
	go h.readLoop()
	hello := h.next(0, 5*time.Second)
	var m map[string]any
	if err := json.Unmarshal(hello.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return h, m
}

func (h *testHost) readLoop() {
	// The agent's answer starts with PYROSYNC too.
	buf := make([]byte, len(protocol.SyncMarker))
	if _, err := readFull(h.conn, buf); err != nil || string(buf) != string(protocol.SyncMarker) {
		h.fail(err)
		return
	}
	r := protocol.NewReader(h.conn)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			h.fail(err)
			return
		}
		h.mu.Lock()
		h.frames[f.Stream] = append(h.frames[f.Stream], f)
		h.mu.Unlock()
		select {
		case h.arrived <- struct{}{}:
		default:
		}
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (h *testHost) fail(err error) {
	h.mu.Lock()
	h.readErr = err
	h.mu.Unlock()
	select {
	case h.arrived <- struct{}{}:
	default:
	}
}

// next returns the next frame on stream, waiting up to d.
func (h *testHost) next(stream uint32, d time.Duration) protocol.Frame {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		h.mu.Lock()
		if q := h.frames[stream]; len(q) > 0 {
			h.frames[stream] = q[1:]
			h.mu.Unlock()
			return q[0]
		}
		err := h.readErr
		h.mu.Unlock()
		if err != nil {
			h.t.Fatalf("stream %d: connection ended: %v", stream, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			h.t.Fatalf("stream %d: no frame within %s", stream, d)
		}
		select {
		case <-h.arrived:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

func (h *testHost) send(stream uint32, msg map[string]any) {
	h.t.Helper()
	if err := h.writer.WriteControl(stream, msg); err != nil {
		h.t.Fatal(err)
	}
}

func (h *testHost) stdin(stream uint32, data string) {
	h.t.Helper()
	if err := h.writer.WriteFrame(protocol.KindStdin, stream, []byte(data)); err != nil {
		h.t.Fatal(err)
	}
}

// outcome is everything one request produced.
type outcome struct {
	stdout, stderr []byte
	events         []map[string]any
	final          map[string]any
}

// collect reads stream until its final message.
func (h *testHost) collect(stream uint32, d time.Duration) outcome {
	h.t.Helper()
	var o outcome
	deadline := time.Now().Add(d)
	for {
		f := h.next(stream, time.Until(deadline))
		switch f.Kind {
		case protocol.KindStdout:
			o.stdout = append(o.stdout, f.Payload...)
		case protocol.KindStderr:
			o.stderr = append(o.stderr, f.Payload...)
		case protocol.KindControl:
			var m map[string]any
			if err := json.Unmarshal(f.Payload, &m); err != nil {
				h.t.Fatal(err)
			}
			if m["type"] == "event" {
				o.events = append(o.events, m)
				continue
			}
			o.final = m
			return o
		}
	}
}

// exec sends an exec request and collects its outcome.
func (h *testHost) exec(stream uint32, req map[string]any, d time.Duration) outcome {
	h.t.Helper()
	req["op"] = "exec"
	h.send(stream, req)
	return h.collect(stream, d)
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
