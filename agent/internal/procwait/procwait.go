// Package procwait collects the exit status of child processes the agent
// starts, through the caller's reaper when it owns the children, and turns
// statuses into shell-style exit codes.
package procwait

import (
	"errors"
	"os/exec"
	"syscall"
)

// Cmd collects the exit status of a started cmd: through wait when set (the
// caller's reaper owns the child), else through cmd.Wait. cmd's stdio must be
// files, so no copying goroutine depends on cmd.Wait.
func Cmd(cmd *exec.Cmd, wait func(pid int) (syscall.WaitStatus, error)) (syscall.WaitStatus, error) {
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

// ExitCode turns a wait status into an exit code, 128+signo for a signal.
func ExitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
