// Package services supervises named background processes in the guest: each
// runs in its own session and process group with its output appended to log
// files, is judged ready by a probe, and is reported — never restarted — when
// it ends.
package services

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"pyro-mcp/agent/internal/procwait"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/oomscore"
	"pyro-mcp/agent/internal/probe"
)

// Defaults for zero Config fields and zero arguments.
const (
	DefaultBaseDir      = "/run/pyro-services"
	DefaultGrace        = 5 * time.Second
	DefaultTailLines    = 200
	DefaultMaxTailBytes = 1 << 20
	maxTailLines        = 100000
	// failKillGrace is how long a service that failed readiness gets to
	// handle TERM before it is killed.
	failKillGrace = time.Second
)

// DefaultBaseEnv is the environment every service starts from.
var DefaultBaseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
}

// validName reports whether name is an acceptable service name: an ASCII
// letter or digit, then up to 63 letters, digits, '.', '_' or '-'.
func validName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Config configures a Manager. The zero Config works.
type Config struct {
	// BaseDir holds one directory per service: stdout.log, stderr.log and
	// service.json (its state and command).
	BaseDir string
	// BaseEnv is the environment under each service's own; DefaultBaseEnv
	// when nil.
	BaseEnv []string
	// MaxTailBytes bounds how much of each log Logs reads.
	MaxTailBytes int64
	// WaitPID, when set, collects the exit status of service processes (and
	// of command readiness checks) instead of exec.Cmd.Wait. The agent sets
	// it when it runs as PID 1 with a reaper that claims every child: the
	// reaper hands the status of each pid to the WaitPID call for it, keeping
	// statuses of children that exited before that call was made.
	WaitPID func(pid int) (syscall.WaitStatus, error)
}

// Manager owns the services. It is safe for concurrent use; the agent keeps
// one for its whole life so that services outlive protocol sessions.
type Manager struct {
	cfg      Config
	mu       sync.Mutex
	services map[string]*service
}

type service struct {
	mu       sync.Mutex
	state    State
	argv     []string
	cwd      string
	cred     *syscall.Credential
	dir      string
	stopping bool
	done     chan struct{} // closed once the process has been waited for
	metaMu   sync.Mutex    // serialises service.json writes
}

// NewManager returns a Manager with cfg.
func NewManager(cfg Config) *Manager {
	if cfg.BaseDir == "" {
		cfg.BaseDir = DefaultBaseDir
	}
	if cfg.BaseEnv == nil {
		cfg.BaseEnv = DefaultBaseEnv
	}
	if cfg.MaxTailBytes <= 0 {
		cfg.MaxTailBytes = DefaultMaxTailBytes
	}
	return &Manager{cfg: cfg, services: map[string]*service{}}
}

// StartRequest describes a service to start. Zero durations take the probe
// package's defaults.
type StartRequest struct {
	Name          string
	Argv          []string
	Cwd           string
	Env           map[string]string
	Readiness     *probe.Readiness // nil: no check, the service is "running"
	ReadyTimeout  time.Duration
	ReadyInterval time.Duration
	// Credential, when set, runs the service as that identity (a workspace's image User).
	Credential *syscall.Credential
}

// Start launches a service and, when it has a readiness check, waits for it.
// The result's state is "running" (no check), "ready", or "failed": the check
// timed out (the service is then stopped) or the process ended first (its
// exit code is set). If ctx ends during the check the service is left
// running, unjudged. A live service with the same name is an exists error; an
// ended one is replaced and its logs are appended to.
func (m *Manager) Start(ctx context.Context, req StartRequest) (State, error) {
	if err := validate(req); err != nil {
		return State{}, err
	}
	s := &service{argv: req.Argv, cwd: req.Cwd, cred: req.Credential, dir: filepath.Join(m.cfg.BaseDir, req.Name), done: make(chan struct{})}
	s.state = State{Name: req.Name, State: StateStarting}
	if req.Readiness != nil {
		s.state.Readiness = &ReadinessState{Readiness: *req.Readiness}
	}
	m.mu.Lock()
	if old, ok := m.services[req.Name]; ok && old.snapshot().Live() {
		m.mu.Unlock()
		return State{}, agenterr.New(agenterr.Exists, "service %s is already running", req.Name)
	}
	m.services[req.Name] = s // reserves the name while it starts
	m.mu.Unlock()

	env := append(append([]string{}, m.cfg.BaseEnv...), envList(req.Env)...)
	cmd, err := s.launch(env)
	if err != nil {
		m.mu.Lock()
		if m.services[req.Name] == s {
			delete(m.services, req.Name)
		}
		m.mu.Unlock()
		return State{}, err
	}
	go s.watch(cmd, m.cfg.WaitPID)

	if req.Readiness == nil {
		s.update(func(st *State) {
			if st.State == StateStarting {
				st.State = StateRunning
			}
		})
		return s.snapshot(), nil
	}
	m.awaitReady(ctx, s, req, env)
	return s.snapshot(), nil
}

func validate(req StartRequest) error {
	if !validName(req.Name) {
		return agenterr.New(agenterr.BadRequest, "invalid service name %q (letters, digits, '.', '_', '-'; at most 64)", req.Name)
	}
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return agenterr.New(agenterr.BadRequest, "service %s has no command", req.Name)
	}
	if req.Cwd != "" {
		// Checked here: a missing Dir makes exec report the command itself as
		// missing ("fork/exec /bin/sh: no such file or directory").
		st, err := os.Stat(req.Cwd)
		if err != nil {
			return agenterr.New(agenterr.NotFound, "service %s: working directory %s does not exist", req.Name, req.Cwd)
		}
		if !st.IsDir() {
			return agenterr.New(agenterr.BadRequest, "service %s: working directory %s is not a directory", req.Name, req.Cwd)
		}
	}
	if req.Readiness != nil {
		return req.Readiness.Validate()
	}
	return nil
}

func envList(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		list = append(list, k+"="+env[k])
	}
	return list
}

// launch opens the logs and starts the process in its own session.
func (s *service) launch(env []string) (*exec.Cmd, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "create service directory")
	}
	stdout, err := openLog(filepath.Join(s.dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := openLog(filepath.Join(s.dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	path, err := lookPath(s.argv[0], env)
	if err != nil {
		return nil, agenterr.Wrap(agenterr.BadRequest, err, "service %s", s.state.Name)
	}
	cmd := &exec.Cmd{Path: path, Args: s.argv, Dir: s.cwd, Env: env, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: s.cred}}
	if err := oomscore.Start(cmd); err != nil {
		return nil, agenterr.Wrap(agenterr.BadRequest, err, "start service %s", s.state.Name)
	}
	s.update(func(st *State) {
		st.PID = cmd.Process.Pid
		st.StartedAt = time.Now().UTC()
	})
	return cmd, nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "open %s", path)
	}
	return f, nil
}

// watch records how the process ended.
func (s *service) watch(cmd *exec.Cmd, wait func(int) (syscall.WaitStatus, error)) {
	ws, err := procwait.Cmd(cmd, wait)
	s.update(func(st *State) {
		if err == nil {
			code := procwait.ExitCode(ws)
			st.ExitCode = &code
		}
		now := time.Now().UTC()
		st.EndedAt = &now
		switch {
		case s.stopping:
			st.State = StateStopped
		case st.Live():
			st.State = StateExited
		}
	})
	close(s.done)
}

func (m *Manager) awaitReady(ctx context.Context, s *service, req StartRequest, env []string) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-pctx.Done():
		}
	}()
	p := &probe.Prober{Cwd: req.Cwd, Env: env, WaitPID: m.cfg.WaitPID}
	ready, detail, _ := p.Wait(pctx, *req.Readiness, req.ReadyTimeout, req.ReadyInterval)
	select {
	case <-s.done:
		ready = false
		s.update(func(st *State) {
			if st.State != StateStopped { // a concurrent Stop says why it ended
				st.State = StateFailed
			}
			code := "unknown"
			if st.ExitCode != nil {
				code = strconv.Itoa(*st.ExitCode)
			}
			detail = "process ended (exit code " + code + ") before it was ready; last check: " + detail
		})
	default:
		switch {
		case ready:
			s.update(func(st *State) { st.State = StateReady })
		case ctx.Err() != nil:
			s.update(func(st *State) { st.State = StateRunning })
		default:
			s.update(func(st *State) { st.State = StateFailed })
			s.terminate(failKillGrace)
		}
	}
	s.update(func(st *State) {
		st.Readiness.Ready = ready
		st.Readiness.Detail = detail
	})
}

// terminate sends TERM to the service's process group, KILL after grace, and
// waits (boundedly) for the process to be collected. Group members that
// outlive the leader are killed too.
func (s *service) terminate(grace time.Duration) {
	pgid := s.snapshot().PID
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	}
	// The group id cannot be reused while any member lives, so this reaches
	// only stragglers of this service.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (s *service) update(fn func(*State)) {
	s.mu.Lock()
	fn(&s.state)
	s.mu.Unlock()
	// Each writer takes the latest state under metaMu, so the last file
	// written is never older than the last update.
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	writeMetadata(s.dir, metadata{State: s.snapshot(), Argv: s.argv, Cwd: s.cwd})
}

func (s *service) snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.clone()
}

type metadata struct {
	State
	Argv []string `json:"argv"`
	Cwd  string   `json:"cwd"`
}

// writeMetadata replaces service.json atomically; failures are ignored, the
// in-memory state is authoritative.
func writeMetadata(dir string, meta metadata) {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return
	}
	tmp := filepath.Join(dir, ".service.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return
	}
	_ = os.Rename(tmp, filepath.Join(dir, "service.json"))
}

func (m *Manager) get(name string) (*service, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.services[name]
	if !ok {
		return nil, agenterr.New(agenterr.NotFound, "no service named %q", name)
	}
	return s, nil
}

// Status returns the state of service name.
func (m *Manager) Status(name string) (State, error) {
	s, err := m.get(name)
	if err != nil {
		return State{}, err
	}
	return s.snapshot(), nil
}

// List returns the state of every service, sorted by name.
func (m *Manager) List() []State {
	m.mu.Lock()
	list := make([]*service, 0, len(m.services))
	for _, s := range m.services {
		list = append(list, s)
	}
	m.mu.Unlock()
	states := make([]State, 0, len(list))
	for _, s := range list {
		states = append(states, s.snapshot())
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Name < states[j].Name })
	return states
}

// Logs returns the last tailLines lines (DefaultTailLines when zero) of the
// service's stdout and stderr, reading at most Config.MaxTailBytes of each.
func (m *Manager) Logs(name string, tailLines int) (Logs, error) {
	s, err := m.get(name)
	if err != nil {
		return Logs{}, err
	}
	if tailLines <= 0 {
		tailLines = DefaultTailLines
	}
	tailLines = min(tailLines, maxTailLines)
	var logs Logs
	var errOut, errErr error
	logs.Stdout, errOut = tailFile(filepath.Join(s.dir, "stdout.log"), tailLines, m.cfg.MaxTailBytes)
	logs.Stderr, errErr = tailFile(filepath.Join(s.dir, "stderr.log"), tailLines, m.cfg.MaxTailBytes)
	if err := errors.Join(errOut, errErr); err != nil {
		return Logs{}, agenterr.Wrap(agenterr.IO, err, "read logs of %s", name)
	}
	return logs, nil
}

// Stop ends a live service: TERM to its process group, KILL after grace
// (DefaultGrace when zero), and returns its state, "stopped". Stopping a
// service that already ended returns its state unchanged.
func (m *Manager) Stop(name string, grace time.Duration) (State, error) {
	s, err := m.get(name)
	if err != nil {
		return State{}, err
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	s.mu.Lock()
	live := s.state.Live()
	if live {
		s.stopping = true
	}
	s.mu.Unlock()
	if live {
		s.terminate(grace)
	}
	return s.snapshot(), nil
}

// StopAll stops every live service (at agent shutdown), each with grace, and
// returns once every service has written its final state (at most grace + 1 s
// later).
func (m *Manager) StopAll(grace time.Duration) {
	var wg sync.WaitGroup
	for _, st := range m.List() {
		if st.Live() {
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				_, _ = m.Stop(name, grace)
			}(st.Name)
		}
	}
	wg.Wait()
	// A service that just exited may still be writing its final state: wait
	// (boundedly) until every watcher is done, so nothing writes afterwards.
	m.mu.Lock()
	all := make([]*service, 0, len(m.services))
	for _, s := range m.services {
		all = append(all, s)
	}
	m.mu.Unlock()
	deadline := time.After(grace + time.Second)
	for _, s := range all {
		select {
		case <-s.done:
		case <-deadline:
			return
		}
	}
}
