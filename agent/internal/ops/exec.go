// Package ops implements the agent's request handlers (protocol/SPEC.md).
package ops

import (
	"encoding/json"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/session"
)

// Exec defaults and bounds.
const (
	defaultTimeoutMs      = 30_000
	maxTimeoutMs          = 7 * 24 * 3600 * 1000
	defaultMaxOutputBytes = 1 << 20
	maxMaxOutputBytes     = 1 << 30
	// drainGrace is how long output is still read after the process exited:
	// a background child that inherited stdout must not hold the exec open.
	drainGrace = 250 * time.Millisecond
	readChunk  = 64 << 10
	eot        = 0x04
)

// PtySize is a terminal size.
type PtySize struct {
	Cols uint16 `json:"cols"`
	Rows uint16 `json:"rows"`
}

type execParams struct {
	Argv           []string          `json:"argv"`
	Cwd            string            `json:"cwd"`
	Env            map[string]string `json:"env"`
	TimeoutMs      *int64            `json:"timeout_ms"`
	MaxOutputBytes *int64            `json:"max_output_bytes"`
	Stdin          bool              `json:"stdin"`
	Pty            *PtySize          `json:"pty"`
	// User, when set, runs the process as that uid/gid (an OCI image's
	// config User, resolved by the host against the image's /etc/passwd).
	User *ProcessUser `json:"user"`
}

// ProcessUser is the identity a process runs as.
type ProcessUser struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups"`
}

type execResult struct {
	ExitCode        int     `json:"exit_code"`
	Signal          *string `json:"signal"`
	TimedOut        bool    `json:"timed_out"`
	StdoutBytes     int64   `json:"stdout_bytes"`
	StderrBytes     int64   `json:"stderr_bytes"`
	StdoutTruncated bool    `json:"stdout_truncated"`
	StderrTruncated bool    `json:"stderr_truncated"`
	DurationMs      int64   `json:"duration_ms"`
}

func (p *execParams) validate() error {
	if len(p.Argv) == 0 {
		return agenterr.New(agenterr.BadRequest, "exec: argv is empty")
	}
	if len(p.Argv) > maxArgs {
		return agenterr.New(agenterr.Limit, "exec: more than %d arguments", maxArgs)
	}
	for _, a := range p.Argv {
		if containsNUL(a) {
			return agenterr.New(agenterr.BadRequest, "exec: an argument contains a NUL byte")
		}
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	if p.TimeoutMs == nil {
		p.TimeoutMs = ptr(int64(defaultTimeoutMs))
	}
	if *p.TimeoutMs <= 0 || *p.TimeoutMs > maxTimeoutMs {
		return agenterr.New(agenterr.BadRequest, "exec: timeout_ms must be between 1 and %d", maxTimeoutMs)
	}
	if p.MaxOutputBytes == nil {
		p.MaxOutputBytes = ptr(int64(defaultMaxOutputBytes))
	}
	if *p.MaxOutputBytes < 0 || *p.MaxOutputBytes > maxMaxOutputBytes {
		return agenterr.New(agenterr.BadRequest, "exec: max_output_bytes must be between 0 and %d", maxMaxOutputBytes)
	}
	if p.Pty != nil && (p.Pty.Cols == 0 || p.Pty.Rows == 0) {
		return agenterr.New(agenterr.BadRequest, "exec: pty needs cols and rows above 0")
	}
	return nil
}

// Exec runs one process: the exec op.
func Exec(req *session.Request) (any, error) {
	var params execParams
	if err := req.Decode(&params); err != nil {
		return nil, err
	}
	if err := params.validate(); err != nil {
		return nil, err
	}
	term := ""
	if params.Pty != nil {
		term = "xterm-256color"
	}
	env, err := BuildEnv(params.Env, term)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(params.Cwd); err != nil || !st.IsDir() {
		return nil, agenterr.New(agenterr.NotFound, "exec: working directory %s does not exist", params.Cwd)
	}
	path, err := LookPath(params.Argv[0], env)
	if err != nil {
		return nil, err
	}
	spec := startSpec{path: path, argv: params.Argv, env: env, dir: params.Cwd, stdin: params.Stdin, user: params.User}
	if params.Pty != nil {
		spec.usePty, spec.ptyCols, spec.ptyRows = true, params.Pty.Cols, params.Pty.Rows
	}
	if !params.Stdin {
		req.DiscardStdin()
	}
	started := time.Now()
	proc, err := startProcess(spec)
	if err != nil {
		return nil, err
	}
	run := &execution{req: req, proc: proc, max: *params.MaxOutputBytes}
	return run.wait(time.Duration(*params.TimeoutMs)*time.Millisecond, started), nil
}

// execution is a started exec until its result.
type execution struct {
	req      *session.Request
	proc     *process
	max      int64
	timedOut atomic.Bool

	sendMu  sync.Mutex
	stopped bool // no data frame may follow the result
}

func (e *execution) wait(timeout time.Duration, started time.Time) execResult {
	p := e.proc
	_ = e.req.Event(map[string]any{"event": "started", "pid": p.cmd.Process.Pid})

	stdout := &pump{kind: protocol.KindStdout, max: e.max, done: make(chan struct{})}
	go stdout.run(p.stdout, e.send)
	var stderr *pump
	if p.stderr != nil {
		stderr = &pump{kind: protocol.KindStderr, max: e.max, done: make(chan struct{})}
		go stderr.run(p.stderr, e.send)
	}
	if p.stdin != nil || p.pty != nil {
		go e.feedStdin()
	}

	timer := time.AfterFunc(timeout, func() {
		e.timedOut.Store(true)
		p.signalGroup(syscall.SIGKILL)
	})
	exited := make(chan struct{})
	go e.watch(exited)

	_ = p.cmd.Wait()
	duration := time.Since(started)
	timer.Stop()
	close(exited)

	e.drain(stdout, stderr)
	e.sendMu.Lock()
	e.stopped = true
	e.sendMu.Unlock()

	res := execResult{TimedOut: e.timedOut.Load(), DurationMs: duration.Milliseconds()}
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		res.ExitCode = 128 + int(ws.Signal())
		res.Signal = ptr(SignalName(ws.Signal()))
	} else {
		res.ExitCode = ws.ExitStatus()
	}
	if res.TimedOut {
		res.ExitCode = 124
	}
	res.StdoutBytes, res.StdoutTruncated = stdout.total, stdout.total > e.max
	if stderr != nil {
		res.StderrBytes, res.StderrTruncated = stderr.total, stderr.total > e.max
	}
	return res
}

// watch handles the host's signal and resize messages and the session's end
// until the process exits.
func (e *execution) watch(exited <-chan struct{}) {
	for {
		select {
		case <-exited:
			return
		case <-e.req.Context().Done():
			e.proc.signalGroup(syscall.SIGKILL)
			return
		case c := <-e.req.Controls():
			e.control(c)
		}
	}
}

func (e *execution) control(c session.Control) {
	switch c.Op {
	case "signal":
		var m struct {
			Signal string `json:"signal"`
		}
		if json.Unmarshal(c.Payload, &m) == nil {
			if sig, ok := SignalByName(m.Signal); ok {
				e.proc.signalForeground(sig)
			}
		}
	case "resize":
		var m PtySize
		if e.proc.pty != nil && json.Unmarshal(c.Payload, &m) == nil && m.Cols > 0 && m.Rows > 0 {
			_ = setPtySize(e.proc.pty, m.Cols, m.Rows)
		}
	}
}

// feedStdin copies the stream's STDIN frames to the process. With a PTY, the
// host's end of file becomes ^D, as if typed.
func (e *execution) feedStdin() {
	in := e.req.Stdin()
	if e.proc.pty != nil {
		_, err := io.Copy(e.proc.pty, in)
		if err == nil {
			_, _ = e.proc.pty.Write([]byte{eot})
		}
	} else {
		_, _ = io.Copy(e.proc.stdin, in)
		e.proc.stdin.Close()
	}
	// The process stopped reading: drop what else comes so the session
	// reader never waits on it.
	e.req.DiscardStdin()
}

// drain waits for the output pumps after the process exited: until EOF, or
// until drainGrace passes, then closes the read ends to stop them.
func (e *execution) drain(pumps ...*pump) {
	deadline := time.NewTimer(drainGrace)
	defer deadline.Stop()
	for _, pp := range pumps {
		if pp == nil {
			continue
		}
		select {
		case <-pp.done:
		case <-deadline.C:
			e.proc.closeAll()
			<-pp.done
		}
	}
	e.proc.closeAll()
}

func (e *execution) send(kind protocol.Kind, b []byte) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	if !e.stopped {
		_ = e.req.Send(kind, b)
	}
}

// pump reads one output stream to its end, forwarding the first max bytes
// and counting (and discarding) the rest.
type pump struct {
	kind  protocol.Kind
	max   int64
	total int64
	sent  int64
	done  chan struct{}
}

func (p *pump) run(r io.Reader, send func(protocol.Kind, []byte)) {
	defer close(p.done)
	buf := make([]byte, readChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.total += int64(n)
			if room := p.max - p.sent; room > 0 {
				k := min(int64(n), room)
				send(p.kind, buf[:k])
				p.sent += k
			}
		}
		if err != nil {
			// EOF for a pipe, EIO for a PTY whose last slave closed, or a
			// closed file after drainGrace: all mean the end of the output.
			return
		}
	}
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
