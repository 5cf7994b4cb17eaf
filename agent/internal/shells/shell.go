package shells

import (
	"os"
	"os/exec"
	"pyro-mcp/agent/internal/procwait"
	"sync"
	"syscall"
	"time"
)

// shell is one PTY shell and its output history.
type shell struct {
	id     string
	pid    int
	master *os.File

	mu       sync.Mutex
	out      *ring
	exitCode *int // set once the process has been waited for
	exited   chan struct{}
}

// pump copies PTY output into the ring until the master reports EIO (every
// slave fd is closed) or is closed.
func (s *shell) pump(done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 32<<10)
	for {
		n, err := s.master.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.out.write(buf[:n])
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// watch waits for the process, lets the pump catch up with output written
// just before the exit, then records the exit code.
func (s *shell) watch(cmd *exec.Cmd, wait func(int) (syscall.WaitStatus, error), pumped <-chan struct{}) {
	ws, err := procwait.Cmd(cmd, wait)
	select {
	case <-pumped:
	case <-time.After(500 * time.Millisecond): // a background job still holds the terminal
	}
	s.mu.Lock()
	if err == nil {
		code := procwait.ExitCode(ws)
		s.exitCode = &code
	}
	close(s.exited)
	s.mu.Unlock()
}

func (s *shell) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}
