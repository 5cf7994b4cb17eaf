package sysinit

import (
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// WorkerFlag is added to the agent's own arguments for the worker process.
const WorkerFlag = "--worker"

// restartDelay spaces out restarts of a crashing worker.
const restartDelay = 500 * time.Millisecond

// Supervisor is the init side of the agent. It runs the agent proper as a
// child (the worker) and does nothing but reap and relay signals. The split
// is what makes reaping safe: orphans are re-parented to init and reaped with
// wait4(-1), while the worker waits for its own children with exec.Cmd.Wait
// and no reaper can steal their exit statuses.
type Supervisor struct {
	// Args are the worker's arguments (argv[1:]), WorkerFlag included.
	Args []string
	// PowerOff powers the machine off once the worker exits 0 (its answer to
	// a shutdown request). Nil: exit 0 instead (sandbox).
	PowerOff func()
	// ReadyFile, when set, is handed to the first worker (its --ready-fd)
	// and closed here once that worker started, so the reader sees EOF
	// after READY even if the worker is later restarted.
	ReadyFile *os.File
	// Setup, when set, is the machine setup init does (mounts, hostname).
	// It runs after the first worker started, so that the worker's own
	// start-up overlaps it; that worker waits for it (its --gate-fd sees
	// EOF) before it serves.
	Setup func()
	// Prewarm, when set, is a command started once beside the first worker,
	// its output discarded and its exit reaped like an orphan's. In a VM
	// under emulation, running one dynamically linked program early (the
	// dynamic loader and libc read from disk and translated) makes the
	// host's first exec cheaper.
	Prewarm []string
	// ListenFile, when set, is the listening socket the host made and handed
	// to init (--listen fd:N). Unlike ReadyFile it is kept and handed to
	// every worker, restarted ones included, as their --listen fd:N.
	ListenFile *os.File
	Logf       func(format string, args ...any)

	// gate is the read end the first worker waits on (see Setup).
	gate *os.File
}

// Run never returns when PowerOff is set; otherwise it returns the exit
// status for the init process.
func (s *Supervisor) Run() int {
	if os.Getpid() != 1 {
		// Not the namespace's init: ask to inherit orphans anyway.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2)
	var gate *os.File
	if s.Setup != nil {
		r, w, err := os.Pipe()
		if err != nil {
			s.Logf("setup gate: %v", err)
			s.Setup()
			s.Setup = nil
		} else {
			s.gate, gate = r, w
		}
	}
	worker := s.start()
	if len(s.Prewarm) > 0 {
		s.prewarm()
	}
	if s.Setup != nil {
		s.Setup()
		gate.Close()
	}
	terminating := false
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			// SIGTERM or SIGINT to init means stop: once the worker has
			// gone, shut down instead of restarting it.
			terminating = terminating || sig == unix.SIGTERM || sig == unix.SIGINT
			if worker != nil {
				_ = worker.Signal(sig)
			}
			continue
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if pid <= 0 {
				break
			}
			if worker == nil || pid != worker.Pid {
				continue // an orphan, reaped
			}
			_ = worker.Release()
			worker = nil
			if terminating || (ws.Exited() && ws.ExitStatus() == 0) {
				return s.shutdown()
			}
			s.Logf("agent worker died (%s); restarting it", describe(ws))
			time.Sleep(restartDelay)
			worker = s.start()
		}
	}
	return 1
}

func (s *Supervisor) start() *os.Process {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	// The files handed down become the worker's fds 3, 4…, named by its flags.
	args := withoutFdFlags(s.Args)
	var files, once []*os.File
	for _, f := range []struct {
		flag string
		file **os.File
	}{{"--ready-fd", &s.ReadyFile}, {"--gate-fd", &s.gate}} {
		if *f.file != nil {
			args = append(args, f.flag, strconv.Itoa(3+len(files)))
			files = append(files, *f.file)
			once = append(once, *f.file)
		}
	}
	if s.ListenFile != nil {
		args = append(args, "--listen", "fd:"+strconv.Itoa(3+len(files)))
		files = append(files, s.ListenFile)
	}
	cmd := exec.Command(exe)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	cmd.Args = append([]string{exe}, args...)
	err = cmd.Start()
	// Only the first worker gets them; a restarted one is ready and set up already.
	for _, f := range once {
		f.Close()
	}
	s.ReadyFile, s.gate = nil, nil
	if err != nil {
		s.Logf("cannot start the agent worker: %v", err)
		// The SIGCHLD loop would never fire again; retry from a timer.
		go func() {
			time.Sleep(restartDelay)
			_ = unix.Kill(os.Getpid(), unix.SIGCHLD)
		}()
		return nil
	}
	return cmd.Process
}

func (s *Supervisor) prewarm() {
	cmd := exec.Command(s.Prewarm[0], s.Prewarm[1:]...)
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		s.Logf("prewarm %s: %v", s.Prewarm[0], err)
		return
	}
	// Reaped by Run's wait4(-1) loop.
	_ = cmd.Process.Release()
}

func withoutFdFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--ready-fd" || args[i] == "--gate-fd" || (args[i] == "--listen" && i+1 < len(args) && strings.HasPrefix(args[i+1], "fd:")) {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func (s *Supervisor) shutdown() int {
	// kill(-1) from anything but a namespace's init would hit the whole host.
	if os.Getpid() == 1 {
		KillAll(2 * time.Second)
	}
	if s.PowerOff == nil {
		return 0
	}
	s.PowerOff()
	return 0
}

// KillAll (for PID 1 only) sends SIGTERM to every process it may signal and
// reaps them; whatever is still alive after grace gets SIGKILL.
func KillAll(grace time.Duration) {
	_ = unix.Kill(-1, unix.SIGTERM)
	if waitChildren(grace) {
		return
	}
	_ = unix.Kill(-1, unix.SIGKILL)
	waitChildren(time.Second)
}

// waitChildren reaps until no child is left (true) or timeout passes (false).
// Polling is short because a one-shot machine's teardown is on the caller's clock.
func waitChildren(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !reapAll() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reapAll reaps every zombie child; it reports whether children remain.
func reapAll() bool {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			return false
		}
		if pid <= 0 {
			return true
		}
	}
}

// PowerOff syncs, unmounts what it can and powers the machine off. It is for
// PID 1 of a VM; it does not return unless the reboot call fails.
func PowerOff(logf func(string, ...any)) {
	unix.Sync()
	points := mountPoints()
	for i := len(points) - 1; i >= 0; i-- {
		if points[i] == "/" {
			continue
		}
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
	_ = unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		logf("power off failed: %v", err)
	}
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}
