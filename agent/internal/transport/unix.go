package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

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

// ListenerFromFd turns an inherited listening socket (descriptor fd) into a
// listener. The descriptor itself is closed: the listener holds its own
// close-on-exec duplicate, so nothing the agent starts inherits it.
func ListenerFromFd(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "listen-fd")
	if f == nil {
		return nil, fmt.Errorf("file descriptor %d is not open", fd)
	}
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("file descriptor %d is not a listening socket: %w", fd, err)
	}
	return l, nil
}

// BindAndExec is the host side of a sandbox launch: it creates the listening
// Unix socket at path (mode 0600, in a directory the guest never sees), puts
// it at descriptor fd without close-on-exec, and replaces this process with
// argv. The guest's agent serves on that descriptor (--listen fd:N), so
// nothing the guest can write decides where the host connects.
func BindAndExec(path string, fd int, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no command to run")
	}
	l, err := ListenUnix(path)
	if err != nil {
		return err
	}
	ul := l.(*net.UnixListener)
	// The socket file must outlive this process image.
	ul.SetUnlinkOnClose(false)
	f, err := ul.File()
	if err != nil {
		return err
	}
	if int(f.Fd()) == fd {
		// dup2 onto itself keeps close-on-exec: clear it by hand.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return err
		}
	} else if err := unix.Dup2(int(f.Fd()), fd); err != nil {
		return fmt.Errorf("dup2 to fd %d: %w", fd, err)
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return unix.Exec(bin, argv, os.Environ())
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
