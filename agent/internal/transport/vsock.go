package transport

import (
	"context"
	"os"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/session"
)

// VsockListener is a listening AF_VSOCK socket (Go's net package does not
// know the address family).
type VsockListener struct {
	fd int
}

// ListenVsock listens on port for any CID.
func ListenVsock(port uint32) (*VsockListener, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket(AF_VSOCK)", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	return &VsockListener{fd: fd}, nil
}

// Serve accepts connections until ctx ends, one session per connection.
func (l *VsockListener) Serve(ctx context.Context, srv *session.Server, logf Logf) error {
	stop := context.AfterFunc(ctx, func() { unix.Shutdown(l.fd, unix.SHUT_RDWR) })
	defer stop()
	for {
		// A non-blocking accepted socket makes os.NewFile use the poller, so
		// closing it interrupts pending reads.
		nfd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return os.NewSyscallError("accept", err)
		}
		go serveConn(ctx, srv, os.NewFile(uintptr(nfd), "vsock"), logf)
	}
}
