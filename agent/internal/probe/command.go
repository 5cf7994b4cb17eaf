package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"pyro-mcp/agent/internal/oomscore"
	"pyro-mcp/agent/internal/procwait"
	"strings"
	"syscall"
)

const outputDetailBytes = 512

func (p *Prober) checkCommand(ctx context.Context, command string) (bool, string) {
	// Output goes to an unlinked temp file rather than a pipe: a background
	// child that keeps a pipe open would stall the check.
	out, err := os.CreateTemp("", "pyro-probe-")
	if err != nil {
		return false, fmt.Sprintf("command: %v", err)
	}
	os.Remove(out.Name())
	defer out.Close()

	cmd := exec.Command("/bin/sh", "-lc", command)
	cmd.Dir = p.Cwd
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := oomscore.Start(cmd); err != nil {
		return false, fmt.Sprintf("command: %v", err)
	}
	var ws syscall.WaitStatus
	var werr error
	done := make(chan struct{})
	go func() {
		ws, werr = procwait.Cmd(cmd, p.WaitPID)
		close(done)
	}()
	timedOut := false
	select {
	case <-done:
	case <-ctx.Done():
		timedOut = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	output := readHead(out)
	switch {
	case timedOut:
		return false, "command timed out" + output
	case werr != nil:
		return false, fmt.Sprintf("command: %v", werr)
	case ws.Exited() && ws.ExitStatus() == 0:
		return true, "command exited 0"
	case ws.Signaled():
		return false, fmt.Sprintf("command killed by signal %d%s", ws.Signal(), output)
	default:
		return false, fmt.Sprintf("command exited %d%s", ws.ExitStatus(), output)
	}
}

func readHead(f *os.File) string {
	buf := make([]byte, outputDetailBytes)
	n, _ := f.ReadAt(buf, 0)
	s := strings.TrimSpace(strings.ToValidUTF8(string(buf[:n]), "?"))
	if s == "" {
		return ""
	}
	return ": " + s
}
