package transport

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"

	"pyro-mcp/agent/internal/session"
)

// ListenUnix listens on a Unix socket at path, mode 0600, replacing a stale
// socket file left by an earlier agent.
func ListenUnix(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	// The umask makes the socket 0600 from its creation; a chmod afterwards
	// would leave a window in which anyone could connect.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// ServeListener accepts connections until l is closed or ctx ends, one
// session per connection.
func ServeListener(ctx context.Context, srv *session.Server, l net.Listener, logf Logf) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return ctx.Err()
			}
			return err
		}
		go serveConn(ctx, srv, c, logf)
	}
}
