package session

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"pyro-mcp/agent/internal/protocol"
)

// host is the host end of one session served over an in-memory connection.
type host struct {
	t      *testing.T
	conn   net.Conn
	w      *protocol.Writer
	frames chan protocol.Frame
	// served receives what Serve returned.
	served chan error
	hello  map[string]any
}

// serve starts a session of a Server with handlers and performs the hello.
func serve(t *testing.T, handlers map[string]Handler) *host {
	t.Helper()
	h := startRaw(t, handlers)
	h.sendSync(`{"op":"hello","protocol_version":1,"nonce":"n-123"}`)
	f := h.next()
	if f.Kind != protocol.KindControl || f.Stream != 0 {
		t.Fatalf("hello reply: %+v", f)
	}
	h.hello = decode(t, f.Payload)
	return h
}

// startRaw starts a session without saying hello; the reader goroutine
// starts once the agent's PYROSYNC arrives.
func startRaw(t *testing.T, handlers map[string]Handler) *host {
	t.Helper()
	hostEnd, agentEnd := net.Pipe()
	srv := &Server{AgentVersion: "test", Handlers: handlers, Capabilities: []string{"exec"}, Logf: t.Logf}
	h := &host{t: t, conn: hostEnd, w: protocol.NewWriter(hostEnd, nil), frames: make(chan protocol.Frame, 1024), served: make(chan error, 1)}
	go func() {
		err := srv.Serve(context.Background(), agentEnd, agentEnd, Options{})
		agentEnd.Close()
		h.served <- err
	}()
	go func() {
		defer close(h.frames)
		br := bufio.NewReader(hostEnd)
		if _, err := protocol.ScanSync(br); err != nil {
			return
		}
		fr := protocol.NewReader(br)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			h.frames <- f
		}
	}()
	t.Cleanup(func() { hostEnd.Close() })
	return h
}

func (h *host) sendSync(payload string) {
	h.t.Helper()
	if err := h.w.WriteSyncFrame(protocol.KindControl, 0, []byte(payload)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) control(stream uint32, payload string) {
	h.t.Helper()
	if err := h.w.WriteFrame(protocol.KindControl, stream, []byte(payload)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) stdin(stream uint32, data []byte) {
	h.t.Helper()
	if err := h.w.WriteFrame(protocol.KindStdin, stream, data); err != nil {
		h.t.Fatal(err)
	}
}

// raw writes bytes as they are (malformed frames).
func (h *host) raw(b []byte) {
	h.t.Helper()
	if _, err := h.conn.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

// next is the agent's next frame; the test fails after 5 s without one.
func (h *host) next() protocol.Frame {
	h.t.Helper()
	select {
	case f, ok := <-h.frames:
		if !ok {
			h.t.Fatal("the session ended")
		}
		return f
	case <-time.After(5 * time.Second):
		h.t.Fatal("no frame from the agent within 5 s")
	}
	return protocol.Frame{}
}

// untilFinal collects frames until `streams` have each sent a final message;
// it returns every frame by stream, in order.
func (h *host) untilFinal(streams ...uint32) map[uint32][]protocol.Frame {
	h.t.Helper()
	want := map[uint32]bool{}
	for _, s := range streams {
		want[s] = true
	}
	got := map[uint32][]protocol.Frame{}
	for len(want) > 0 {
		f := h.next()
		got[f.Stream] = append(got[f.Stream], f)
		if isFinal(f) {
			if !want[f.Stream] {
				h.t.Fatalf("unexpected final on stream %d: %s", f.Stream, f.Payload)
			}
			delete(want, f.Stream)
		}
	}
	return got
}

// ended waits for Serve to return and gives its error.
func (h *host) ended(within time.Duration) error {
	h.t.Helper()
	select {
	case err := <-h.served:
		return err
	case <-time.After(within):
		h.t.Fatalf("Serve did not return within %s", within)
	}
	return nil
}

func isFinal(f protocol.Frame) bool {
	if f.Kind != protocol.KindControl {
		return false
	}
	var m struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(f.Payload, &m)
	return m.Type == "result" || m.Type == "error"
}

func decode(t *testing.T, payload []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("bad control %q: %v", payload, err)
	}
	return m
}
