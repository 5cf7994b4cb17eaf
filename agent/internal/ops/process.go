package ops

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/oomscore"
)

// process is one started exec: its own process group, and either pipes or a
// PTY master for its I/O. The parent's copies of the child's ends are closed.
type process struct {
	cmd    *exec.Cmd
	pgid   int
	stdin  *os.File // pipe write end, or nil
	stdout *os.File // pipe read end, or the PTY master
	stderr *os.File // pipe read end, or nil with a PTY
	pty    *os.File // the PTY master, or nil
}

type startSpec struct {
	path    string
	argv    []string
	env     []string
	dir     string
	stdin   bool
	ptyCols uint16
	ptyRows uint16
	usePty  bool
	user    *ProcessUser
}

func startProcess(s startSpec) (*process, error) {
	cmd := &exec.Cmd{Path: s.path, Args: s.argv, Env: s.env, Dir: s.dir}
	p := &process{cmd: cmd}
	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
	}()
	fail := func(err error) (*process, error) {
		p.closeAll()
		return nil, startError(s, err)
	}
	if s.usePty {
		master, slave, err := openPty(s.ptyCols, s.ptyRows)
		if err != nil {
			return nil, agenterr.Wrap(agenterr.IO, err, "cannot open a pty")
		}
		childEnds = append(childEnds, slave)
		p.pty, p.stdout = master, master
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		// A new session with the PTY as controlling terminal; the session
		// leader's process group is the exec's group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		outR, outW, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, outW)
		p.stdout = outR
		errR, errW, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, errW)
		p.stderr = errR
		cmd.Stdout, cmd.Stderr = outW, errW
		if s.stdin {
			inR, inW, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			childEnds = append(childEnds, inR)
			p.stdin = inW
			cmd.Stdin = inR
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	cmd.SysProcAttr.Credential = s.user.Credential()
	if err := oomscore.Start(cmd); err != nil {
		return fail(err)
	}
	p.pgid = cmd.Process.Pid
	return p, nil
}

func startError(s startSpec, err error) error {
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if errors.As(err, &pathErr) && pathErr.Op == "chdir" {
			return agenterr.Wrap(agenterr.NotFound, err, "working directory %s does not exist", s.dir)
		}
		return agenterr.Wrap(agenterr.NotFound, err, "command not found: %s", s.argv[0])
	case errors.Is(err, fs.ErrPermission):
		return agenterr.Wrap(agenterr.BadRequest, err, "cannot execute %s", s.argv[0])
	}
	return agenterr.Wrap(agenterr.IO, err, "cannot start %s", s.argv[0])
}

// signalGroup sends sig to the exec's whole process group.
func (p *process) signalGroup(sig syscall.Signal) {
	_ = unix.Kill(-p.pgid, sig)
}

// signalForeground sends sig the way a terminal would: to the PTY's
// foreground group when there is a PTY (a shell runs jobs in groups of their
// own), else to the exec's group.
func (p *process) signalForeground(sig syscall.Signal) {
	if p.pty != nil {
		if pgrp, err := foregroundGroup(p.pty); err == nil && pgrp > 0 && pgrp != p.pgid {
			_ = unix.Kill(-pgrp, sig)
		}
	}
	p.signalGroup(sig)
}

func (p *process) closeAll() {
	for _, f := range []*os.File{p.stdin, p.stdout, p.stderr} {
		if f != nil {
			f.Close()
		}
	}
}
