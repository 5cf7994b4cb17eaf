package transport

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/session"
)

// TestVsockLoopback needs the vsock_loopback transport; it skips without it.
func TestVsockLoopback(t *testing.T) {
	const port = 47123
	l, err := ListenVsock(port)
	if err != nil {
		t.Skipf("no AF_VSOCK here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &session.Server{AgentVersion: "t", Handlers: map[string]session.Handler{}, Logf: t.Logf}
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, srv, t.Logf) }()

	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_LOCAL, Port: port}); err != nil {
		unix.Close(fd)
		t.Skipf("no vsock loopback here: %v", err)
	}
	c := os.NewFile(uintptr(fd), "vsock-client")
	defer c.Close()
	exchangeHello(t, c, "v")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("vsock listener did not stop")
	}
}
