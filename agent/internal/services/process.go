package services

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// lookPath resolves a bare command name against the PATH of the service's
// own environment (the agent's may be empty when it runs as init).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last PATH wins, as in exec
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
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

// exitCode turns a wait status into an exit code, 128+signo for a signal.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
