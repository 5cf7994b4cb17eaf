// Package transport accepts host connections for the agent: a Unix socket
// (sandbox backend), virtio-serial ports (qemu) and AF_VSOCK (firecracker).
package transport

import (
	"context"
	"errors"
	"io"
	"net"

	"pyro-mcp/agent/internal/session"
)

// Logf logs one line.
type Logf func(format string, args ...any)

// conn is what an accepted connection offers.
type conn interface {
	io.ReadWriteCloser
}

// serveConn runs one session on c and closes it.
func serveConn(ctx context.Context, srv *session.Server, c conn, logf Logf) {
	defer c.Close()
	err := srv.Serve(ctx, c, c, session.Options{})
	if err != nil && !isDisconnect(err) {
		logf("session ended: %v", err)
	}
}

func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}
