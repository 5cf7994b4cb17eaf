package shells

import (
	"errors"
	"os"
	"os/exec"
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
	ws, err := waitCmd(cmd, wait)
	select {
	case <-pumped:
	case <-time.After(500 * time.Millisecond): // a background job still holds the terminal
	}
	s.mu.Lock()
	if err == nil {
		code := exitCode(ws)
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

// waitCmd collects the exit status of a started cmd: through wait when set
// (the caller's reaper owns the child), else through cmd.Wait. cmd's stdio
// must be files, so no copying goroutine depends on cmd.Wait.
func waitCmd(cmd *exec.Cmd, wait func(pid int) (syscall.WaitStatus, error)) (syscall.WaitStatus, error) {
	if wait != nil {
		ws, err := wait(cmd.Process.Pid)
		_ = cmd.Process.Release()
		return ws, err
	}
	err := cmd.Wait()
	if cmd.ProcessState == nil {
		return 0, err
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		return ws, nil
	}
	return 0, errors.Join(err, errors.New("no wait status"))
}
