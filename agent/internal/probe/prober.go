package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Defaults for zero durations.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultInterval       = 500 * time.Millisecond
	DefaultAttemptTimeout = 5 * time.Second
	minInterval           = 10 * time.Millisecond
)

// Prober runs readiness checks. The zero Prober works: relative paths and
// commands use the agent's working directory and environment, and command
// exit statuses are collected with exec.Cmd.Wait.
type Prober struct {
	// Cwd is where file paths are resolved and commands run.
	Cwd string
	// Env is the environment of command checks; nil means the agent's own.
	Env []string
	// AttemptTimeout bounds one check (a command is killed past it).
	AttemptTimeout time.Duration
	// WaitPID, when set, collects the exit status of a command check's process
	// instead of exec.Cmd.Wait: the agent sets it when it runs as PID 1 with a
	// reaper that claims every child. It must return the status of pid even
	// if the child was reaped before the call.
	WaitPID func(pid int) (syscall.WaitStatus, error)
}

// Wait checks r every interval until it passes, timeout passes or ctx ends,
// with at least one attempt. It reports whether r became ready, with a detail
// that says what the last check saw. err is set only for an invalid r.
func Wait(ctx context.Context, r Readiness, timeout, interval time.Duration) (ready bool, detail string, err error) {
	return (&Prober{}).Wait(ctx, r, timeout, interval)
}

// Wait is the package-level Wait run by p.
func (p *Prober) Wait(ctx context.Context, r Readiness, timeout, interval time.Duration) (bool, string, error) {
	if err := r.Validate(); err != nil {
		return false, "", err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	interval = max(interval, minInterval)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	timer := time.NewTimer(0)
	defer timer.Stop()
	detail := ""
	for {
		ok, d := p.Check(ctx, r)
		if ok {
			return true, d, nil
		}
		// An attempt cut short by the overall deadline says less than the
		// last complete one.
		if ctx.Err() == nil || detail == "" {
			detail = d
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			why := "timed out"
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = "canceled"
			}
			return false, fmt.Sprintf("%s (%s after %s)", detail, why, time.Since(start).Round(time.Millisecond)), nil
		case <-timer.C:
		}
	}
}

// Check runs r once, bounded by ctx and p.AttemptTimeout, and says whether it
// passed and what it saw. r must be valid.
func (p *Prober) Check(ctx context.Context, r Readiness) (bool, string) {
	attempt := p.AttemptTimeout
	if attempt <= 0 {
		attempt = DefaultAttemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	switch r.Kind {
	case KindFile:
		return p.checkFile(r.Path)
	case KindTCP:
		return checkTCP(ctx, r.Address)
	case KindHTTP:
		return checkHTTP(ctx, r.URL)
	case KindCommand:
		return p.checkCommand(ctx, r.Command)
	}
	return false, fmt.Sprintf("unknown readiness kind %q", r.Kind)
}

func (p *Prober) checkFile(path string) (bool, string) {
	if !filepath.IsAbs(path) && p.Cwd != "" {
		path = filepath.Join(p.Cwd, path)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Sprintf("file %s does not exist", path)
		}
		return false, fmt.Sprintf("file %s: %v", path, err)
	}
	return true, fmt.Sprintf("file %s exists", path)
}

func checkTCP(ctx context.Context, address string) (bool, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return false, fmt.Sprintf("tcp %s: %v", address, unwrapNetError(err))
	}
	conn.Close()
	return true, fmt.Sprintf("tcp %s accepted a connection", address)
}

// unwrapNetError drops the wrapping that repeats the address.
func unwrapNetError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
