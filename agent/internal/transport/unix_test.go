package transport

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pyro-mcp/agent/internal/session"
)

func TestUnixSocketModeAndSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	// A stale socket file from a dead agent is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	l, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", st.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &session.Server{AgentVersion: "t", Handlers: map[string]session.Handler{}, Logf: t.Logf}
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, srv, l, t.Logf) }()

	for i := 0; i < 2; i++ { // two sessions, one after the other
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		exchangeHello(t, c, "x")
		c.Close()
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("listener did not stop")
	}
}

func TestListenerFromInheritedFd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	inherited, err := ListenerFromFd(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &session.Server{AgentVersion: "t", Handlers: map[string]session.Handler{}, Logf: t.Logf}
	go func() { _ = ServeListener(ctx, srv, inherited, t.Logf) }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	exchangeHello(t, c, "x")
	c.Close()
}

func TestListenerFromFdRefusesOtherDescriptors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := ListenerFromFd(int(r.Fd())); err == nil {
		t.Fatal("a pipe was taken for a listening socket")
	}
}
