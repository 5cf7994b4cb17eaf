package shells

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"pyro-mcp/agent/internal/procwait"
	"pyro-mcp/agent/internal/ring"
)

// shell is one PTY shell and its output history.
type shell struct {
	id     string
	pid    int
	master *os.File
	out    *ring.Ring // safe on its own; mu guards the rest

	mu       sync.Mutex
	exitCode *int // set once the process has been waited for
	exited   chan struct{}
}

// watch waits for the process, lets the pump catch up with output written
// just before the exit (it ends when the master reports EIO: every slave fd
// is closed), then records the exit code.
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
