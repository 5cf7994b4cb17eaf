package commands

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/procwait"
	"pyro-mcp/agent/internal/ring"
)

// drainGrace is how long output is still read after the process exited: a
// child it left running with the pipe open must not hold the command open.
const drainGrace = 250 * time.Millisecond

// States of a command.
const (
	StateRunning = "running"
	StateExited  = "exited"
	StateKilled  = "killed"
)

// State is a command as the protocol reports it.
type State struct {
	ID          string     `json:"command_id"`
	State       string     `json:"state"`
	Pid         int        `json:"pid"`
	ExitCode    *int       `json:"exit_code"`
	Signal      *string    `json:"signal"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	DurationMs  int64      `json:"duration_ms"`
	OutputBytes int64      `json:"output_bytes"`
}

// command is one background process and its output tail.
type command struct {
	id   string
	argv []string
	pid  int
	done chan struct{} // closed once the process was waited for and its output drained

	out *ring.Ring // safe on its own; mu guards the rest

	mu       sync.Mutex
	started  time.Time
	ended    time.Time
	exitCode *int
	signal   *string
	killed   bool
}

// launch starts the process and the goroutines that collect its output and
// its exit.
func (c *command) launch(req StartRequest, wait func(int) (syscall.WaitStatus, error)) error {
	r, w, err := os.Pipe()
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "create output pipe")
	}
	cmd := execCmd(req, w)
	err = startCmd(cmd)
	w.Close() // the child holds its own copy
	if err != nil {
		r.Close()
		return startError(req, err)
	}
	c.mu.Lock()
	c.pid = cmd.Process.Pid
	c.started = time.Now().UTC()
	c.mu.Unlock()
	pumped := make(chan struct{})
	go c.out.Pump(r, pumped)
	go c.watch(cmd, wait, r, pumped)
	return nil
}

func startError(req StartRequest, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return agenterr.Wrap(agenterr.NotFound, err, "command not found: %s", req.Argv[0])
	case errors.Is(err, fs.ErrPermission):
		return agenterr.Wrap(agenterr.BadRequest, err, "cannot execute %s", req.Argv[0])
	}
	return agenterr.Wrap(agenterr.IO, err, "cannot start %s", req.Argv[0])
}

// watch waits for the process, lets the pump catch up with output written
// just before the exit (it ends once every writer closed the pipe, or once
// watch closes the read end after drainGrace), then records how it ended.
func (c *command) watch(cmd *exec.Cmd, wait func(int) (syscall.WaitStatus, error), r *os.File, pumped <-chan struct{}) {
	ws, err := procwait.Cmd(cmd, wait)
	select {
	case <-pumped:
	case <-time.After(drainGrace):
		r.Close()
		<-pumped
	}
	r.Close()
	c.mu.Lock()
	c.ended = time.Now().UTC()
	if err == nil {
		code := procwait.ExitCode(ws)
		c.exitCode = &code
		if ws.Signaled() {
			name := signalName(ws.Signal())
			c.signal = &name
		}
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *command) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *command) endedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

func (c *command) snapshot() State {
	alive := c.alive()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := State{ID: c.id, State: StateRunning, Pid: c.pid, StartedAt: c.started, OutputBytes: c.out.Total()}
	if alive {
		st.DurationMs = time.Since(c.started).Milliseconds()
		return st
	}
	st.State = StateExited
	if c.killed {
		st.State = StateKilled
	}
	ended := c.ended
	st.EndedAt = &ended
	st.ExitCode = c.exitCode
	st.Signal = c.signal
	st.DurationMs = c.ended.Sub(c.started).Milliseconds()
	return st
}

// signalName is "KILL" for SIGKILL (as the exec op reports it).
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return strings.TrimPrefix(name, "SIG")
	}
	return sig.String()
}
