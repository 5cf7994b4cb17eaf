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
