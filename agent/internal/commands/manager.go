// Package commands supervises background commands in the guest: each runs in
// its own process group with stdout and stderr on one pipe, whose output the
// agent keeps in a bounded ring (the last BufferSize bytes) for clients to
// read by absolute byte cursor. Commands outlive the protocol session that
// started them; the agent holds them until it exits.
package commands

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/oomscore"
	"pyro-mcp/agent/internal/ring"
)

// Defaults for zero Config fields.
const (
	DefaultBufferSize = 1 << 20
	DefaultMaxRunning = 64
	DefaultMaxKept    = 64
	DefaultReadBytes  = 64 << 10
)

// Config configures a Manager. The zero Config works.
type Config struct {
	// BufferSize is how many bytes of output each command keeps (its tail).
	BufferSize int
	// MaxRunning bounds the commands running at once.
	MaxRunning int
	// MaxKept bounds the ended commands remembered; the oldest is forgotten
	// when a new command starts past it.
	MaxKept int
	// WaitPID, when set, collects a command's exit status instead of
	// exec.Cmd.Wait (the agent as PID 1 with a reaper that claims every child).
	WaitPID func(pid int) (syscall.WaitStatus, error)
}

// Manager owns the background commands. It is safe for concurrent use.
type Manager struct {
	cfg  Config
	mu   sync.Mutex
	cmds map[string]*command
}

// NewManager returns a Manager with cfg.
func NewManager(cfg Config) *Manager {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = DefaultMaxRunning
	}
	if cfg.MaxKept <= 0 {
		cfg.MaxKept = DefaultMaxKept
	}
	return &Manager{cfg: cfg, cmds: map[string]*command{}}
}

// StartRequest describes a command to start: Path is the resolved program,
// Env the whole environment.
type StartRequest struct {
	ID   string
	Path string
	Argv []string
	Env  []string
	Dir  string
	// Credential, when set, runs the command as that identity (a workspace's image User).
	Credential *syscall.Credential
}

// ValidID reports whether id is an acceptable command id: 1 to 64 ASCII
// letters, digits, '-' or '_'.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Start launches a command in its own process group, stdin /dev/null and
// stdout and stderr into one pipe, and returns its state at once.
func (m *Manager) Start(req StartRequest) (State, error) {
	if !ValidID(req.ID) {
		return State{}, agenterr.New(agenterr.BadRequest, "invalid command id %q", req.ID)
	}
	if len(req.Argv) == 0 {
		return State{}, agenterr.New(agenterr.BadRequest, "command %s has no argv", req.ID)
	}
	if st, err := os.Stat(req.Dir); err != nil || !st.IsDir() {
		return State{}, agenterr.New(agenterr.NotFound, "working directory %s does not exist", req.Dir)
	}
	m.mu.Lock()
	if _, ok := m.cmds[req.ID]; ok {
		m.mu.Unlock()
		return State{}, agenterr.New(agenterr.Exists, "command %s already exists", req.ID)
	}
	running := 0
	for _, c := range m.cmds {
		if c.alive() {
			running++
		}
	}
	if running >= m.cfg.MaxRunning {
		m.mu.Unlock()
		return State{}, agenterr.New(agenterr.Limit, "%d background commands are already running; wait for or kill one first", running)
	}
	c := &command{id: req.ID, argv: req.Argv, out: ring.New(m.cfg.BufferSize), done: make(chan struct{})}
	m.cmds[req.ID] = c // reserves the id while it starts
	m.forgetOldLocked()
	m.mu.Unlock()

	if err := c.launch(req, m.cfg.WaitPID); err != nil {
		m.mu.Lock()
		delete(m.cmds, req.ID)
		m.mu.Unlock()
		return State{}, err
	}
	return c.snapshot(), nil
}

// forgetOldLocked drops the oldest ended commands beyond MaxKept.
func (m *Manager) forgetOldLocked() {
	var ended []*command
	for _, c := range m.cmds {
		if !c.alive() {
			ended = append(ended, c)
		}
	}
	if len(ended) <= m.cfg.MaxKept {
		return
	}
	sort.Slice(ended, func(i, j int) bool { return ended[i].endedAt().Before(ended[j].endedAt()) })
	for _, c := range ended[:len(ended)-m.cfg.MaxKept] {
		delete(m.cmds, c.id)
	}
}

func (m *Manager) get(id string) (*command, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cmds[id]
	if !ok {
		return nil, agenterr.New(agenterr.NotFound, "no command %q", id)
	}
	return c, nil
}

// Status returns one command's state.
func (m *Manager) Status(id string) (State, error) {
	c, err := m.get(id)
	if err != nil {
		return State{}, err
	}
	return c.snapshot(), nil
}

// List returns every remembered command, oldest first.
func (m *Manager) List() []State {
	m.mu.Lock()
	cmds := make([]*command, 0, len(m.cmds))
	for _, c := range m.cmds {
		cmds = append(cmds, c)
	}
	m.mu.Unlock()
	states := make([]State, 0, len(cmds))
	for _, c := range cmds {
		states = append(states, c.snapshot())
	}
	sort.Slice(states, func(i, j int) bool { return states[i].StartedAt.Before(states[j].StartedAt) })
	return states
}

// ReadResult is a slice of a command's output and the command's state.
type ReadResult struct {
	State
	ring.Slice
}

// Read returns up to maxBytes of output from cursor. With wait > 0 it first
// waits, up to wait or until ctx ends, for the command to end (at once when
// it has).
func (m *Manager) Read(ctx context.Context, id string, cursor int64, maxBytes int, wait time.Duration) (ReadResult, error) {
	if cursor < 0 || maxBytes < 0 {
		return ReadResult{}, agenterr.New(agenterr.BadRequest, "cursor and max_bytes must not be negative")
	}
	c, err := m.get(id)
	if err != nil {
		return ReadResult{}, err
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-c.done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
	// The state first: output read after it is at least as complete, so an
	// ended state never comes with output still missing.
	r := ReadResult{State: c.snapshot()}
	r.Slice = c.out.Read(cursor, maxBytes)
	r.OutputBytes = r.Total
	return r, nil
}

// Kill sends sig to the command's process group and, when it has not ended
// after grace, SIGKILL; it returns the state once the command ended (or
// after another grace period, when not even KILL ended it).
func (m *Manager) Kill(id string, sig syscall.Signal, grace time.Duration) (State, error) {
	c, err := m.get(id)
	if err != nil {
		return State{}, err
	}
	if !c.alive() {
		return c.snapshot(), nil
	}
	c.mu.Lock()
	c.killed = true
	c.mu.Unlock()
	for _, s := range []syscall.Signal{sig, syscall.SIGKILL} {
		if err := syscall.Kill(-c.pid, s); err != nil && !errors.Is(err, syscall.ESRCH) {
			return State{}, agenterr.Wrap(agenterr.IO, err, "signal command %s", id)
		}
		timer := time.NewTimer(grace)
		select {
		case <-c.done:
			timer.Stop()
			return c.snapshot(), nil
		case <-timer.C:
		}
	}
	return c.snapshot(), nil
}

// KillAll kills every running command (at agent shutdown).
func (m *Manager) KillAll(grace time.Duration) {
	m.mu.Lock()
	ids := make([]string, 0, len(m.cmds))
	for id, c := range m.cmds {
		if c.alive() {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = m.Kill(id, syscall.SIGTERM, grace)
		}()
	}
	wg.Wait()
}

// execCmd builds the process of a request.
func execCmd(req StartRequest, w *os.File) *exec.Cmd {
	null, _ := os.Open(os.DevNull)
	return &exec.Cmd{Path: req.Path, Args: req.Argv, Env: req.Env, Dir: req.Dir, Stdin: null, Stdout: w, Stderr: w,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: req.Credential}}
}

func startCmd(cmd *exec.Cmd) error {
	defer func() {
		if f, ok := cmd.Stdin.(*os.File); ok && f != nil {
			f.Close()
		}
	}()
	return oomscore.Start(cmd)
}
