// Package shells keeps interactive PTY shells alive in the guest across
// protocol sessions, with a bounded history of each shell's output that
// clients read by absolute byte cursor.
package shells

import (
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/oomscore"
	"pyro-mcp/agent/internal/ring"
)

// Defaults for zero Config fields and zero arguments.
const (
	DefaultBufferSize = 1 << 20
	DefaultMaxShells  = 64
	DefaultCols       = 120
	DefaultRows       = 30
	DefaultReadBytes  = 64 << 10
)

// DefaultBaseEnv is the environment every shell starts from.
var DefaultBaseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
}

// Config configures a Manager. The zero Config works.
type Config struct {
	// BufferSize is how many bytes of output each shell keeps.
	BufferSize int
	// MaxShells bounds the shells open at once (dead ones count until closed).
	MaxShells int
	// Shell is the argv of a new shell; default /bin/bash -i, or /bin/sh -i
	// where there is no bash.
	Shell []string
	// BaseEnv is the environment under each shell's own; DefaultBaseEnv when nil.
	BaseEnv []string
	// WaitPID, when set, collects a shell's exit status instead of
	// exec.Cmd.Wait: the agent sets it when it runs as PID 1 with a reaper
	// that claims every child. It must return the status of pid even if the
	// child was reaped before the call, and block until then otherwise.
	WaitPID func(pid int) (syscall.WaitStatus, error)
}

// Manager owns the open shells. It is safe for concurrent use; the agent
// keeps one for its whole life so that shells outlive protocol sessions.
type Manager struct {
	cfg    Config
	mu     sync.Mutex
	shells map[string]*shell
}

// NewManager returns a Manager with cfg.
func NewManager(cfg Config) *Manager {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.MaxShells <= 0 {
		cfg.MaxShells = DefaultMaxShells
	}
	if cfg.BaseEnv == nil {
		cfg.BaseEnv = DefaultBaseEnv
	}
	return &Manager{cfg: cfg, shells: map[string]*shell{}}
}

// OpenOptions describes a new shell. Zero Cols and Rows take the defaults.
type OpenOptions struct {
	Cwd  string
	Cols uint16
	Rows uint16
	Env  map[string]string
	// Credential, when set, runs the shell as that identity (a workspace's image User).
	Credential *syscall.Credential
}

// Open starts a shell on a new PTY (TERM=xterm-256color) in its own session
// and returns its id and pid.
func (m *Manager) Open(opts OpenOptions) (id string, pid int, err error) {
	m.mu.Lock()
	full := len(m.shells) >= m.cfg.MaxShells
	m.mu.Unlock()
	if full {
		return "", 0, agenterr.New(agenterr.Limit, "%d shells already open; close one first", m.cfg.MaxShells)
	}
	if opts.Cwd != "" {
		if st, err := os.Stat(opts.Cwd); err != nil || !st.IsDir() {
			return "", 0, agenterr.New(agenterr.BadRequest, "cwd %s is not a directory", opts.Cwd)
		}
	}
	cols, rows := opts.Cols, opts.Rows
	if cols == 0 {
		cols = DefaultCols
	}
	if rows == 0 {
		rows = DefaultRows
	}
	master, slave, err := openPTY()
	if err != nil {
		return "", 0, agenterr.Wrap(agenterr.IO, err, "open pty")
	}
	defer slave.Close()
	if err := setWinsize(master, cols, rows); err != nil {
		master.Close()
		return "", 0, agenterr.Wrap(agenterr.IO, err, "set pty size")
	}
	argv := m.shellArgv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = opts.Cwd
	cmd.Env = buildEnv(m.cfg.BaseEnv, opts.Env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Credential: opts.Credential}
	if err := oomscore.Start(cmd); err != nil {
		master.Close()
		return "", 0, agenterr.Wrap(agenterr.IO, err, "start %s", argv[0])
	}
	s := &shell{id: newID(), pid: cmd.Process.Pid, master: master, out: ring.New(m.cfg.BufferSize), exited: make(chan struct{})}
	pumped := make(chan struct{})
	go s.out.Pump(master, pumped)
	go s.watch(cmd, m.cfg.WaitPID, pumped)
	m.mu.Lock()
	m.shells[s.id] = s
	m.mu.Unlock()
	return s.id, s.pid, nil
}

func (m *Manager) shellArgv() []string {
	if len(m.cfg.Shell) > 0 {
		return m.cfg.Shell
	}
	if _, err := os.Stat("/bin/bash"); err == nil {
		return []string{"/bin/bash", "-i"}
	}
	return []string{"/bin/sh", "-i"}
}

func buildEnv(base []string, extra map[string]string) []string {
	env := append([]string{}, base...)
	env = append(env, "TERM=xterm-256color")
	for k, v := range extra {
		env = append(env, k+"="+v) // later entries win in exec.Cmd
	}
	return env
}

func (m *Manager) get(id string) (*shell, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.shells[id]
	if !ok {
		return nil, agenterr.New(agenterr.NotFound, "no shell %q", id)
	}
	return s, nil
}

// ReadResult is a slice of a shell's output and the shell's state.
type ReadResult struct {
	ring.Slice
	Alive    bool
	ExitCode *int
}

// Read returns up to maxBytes of output from cursor (bytes since the shell
// opened) without waiting for more.
func (m *Manager) Read(id string, cursor int64, maxBytes int) (ReadResult, error) {
	s, err := m.get(id)
	if err != nil {
		return ReadResult{}, err
	}
	if maxBytes <= 0 {
		maxBytes = DefaultReadBytes
	}
	if cursor < 0 {
		return ReadResult{}, agenterr.New(agenterr.BadRequest, "negative cursor")
	}
	// The state first: output read after it is at least as complete (watch
	// marks the shell exited only once the pump caught up), so an exited
	// shell never comes with output still missing.
	s.mu.Lock()
	r := ReadResult{Alive: s.alive(), ExitCode: s.exitCode}
	s.mu.Unlock()
	r.Slice = s.out.Read(cursor, maxBytes)
	return r, nil
}

const writeTimeout = 5 * time.Second

// Write sends input to the shell's terminal and returns how many bytes went
// in; a terminal that accepts nothing for a few seconds ends the write early.
func (m *Manager) Write(id string, p []byte) (int, error) {
	s, err := m.get(id)
	if err != nil {
		return 0, err
	}
	if !s.alive() {
		return 0, agenterr.New(agenterr.BadRequest, "shell %s has exited", id)
	}
	_ = s.master.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := s.master.Write(p)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, agenterr.New(agenterr.IO, "shell %s accepted %d of %d bytes before its input stalled", id, n, len(p))
		}
		return n, agenterr.Wrap(agenterr.IO, err, "write to shell %s", id)
	}
	return n, nil
}

// Signal sends sig ("INT", "TERM", ...) to the terminal's foreground process
// group, as a key like Ctrl-C would: a running command is interrupted while an
// interactive shell waiting at its prompt ignores INT and survives.
func (m *Manager) Signal(id, sig string) error {
	signal, err := ParseSignal(sig)
	if err != nil {
		return err
	}
	s, err := m.get(id)
	if err != nil {
		return err
	}
	if !s.alive() {
		return agenterr.New(agenterr.BadRequest, "shell %s has exited", id)
	}
	pgrp, err := foregroundGroup(s.master)
	if err != nil || pgrp <= 0 {
		pgrp = s.pid // the shell leads its own session and group
	}
	if err := syscall.Kill(-pgrp, signal); err != nil && !errors.Is(err, syscall.ESRCH) {
		return agenterr.Wrap(agenterr.IO, err, "signal shell %s", id)
	}
	return nil
}

// Resize sets the terminal size of a shell.
func (m *Manager) Resize(id string, cols, rows uint16) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	if cols == 0 || rows == 0 {
		return agenterr.New(agenterr.BadRequest, "terminal size must be positive")
	}
	if err := setWinsize(s.master, cols, rows); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "resize shell %s", id)
	}
	return nil
}

// closeGrace is how long Close waits after each signal.
const closeGrace = 2 * time.Second

// Close ends a shell and forgets it: it hangs up the session (SIGHUP), kills
// it when that is not enough, and returns the exit code (nil when it could not
// be collected).
func (m *Manager) Close(id string) (*int, error) {
	s, err := m.get(id)
	if err != nil {
		return nil, err
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGKILL} {
		if !s.alive() {
			break
		}
		_ = syscall.Kill(-s.pid, sig)
		if pgrp, err := foregroundGroup(s.master); err == nil && pgrp > 0 && pgrp != s.pid {
			_ = syscall.Kill(-pgrp, sig)
		}
		select {
		case <-s.exited:
		case <-time.After(closeGrace):
		}
	}
	s.master.Close()
	m.mu.Lock()
	delete(m.shells, id)
	m.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitCode, nil
}

// CloseAll closes every shell (at agent shutdown).
func (m *Manager) CloseAll() {
	m.mu.Lock()
	ids := make([]string, 0, len(m.shells))
	for id := range m.shells {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		_, _ = m.Close(id)
	}
}

// IDs lists the open shells.
func (m *Manager) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.shells))
	for id := range m.shells {
		ids = append(ids, id)
	}
	return ids
}

func newID() string {
	b := make([]byte, 6)
	_, _ = unix.Getrandom(b, 0)
	return hex.EncodeToString(b)
}
