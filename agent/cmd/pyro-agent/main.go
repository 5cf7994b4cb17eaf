// Command pyro-agent is pyro's guest agent: it serves the protocol of
// protocol/SPEC.md on a Unix socket, virtio-serial ports or AF_VSOCK, and can
// act as the machine's init. See agent/README.md for the flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pyro-mcp/agent/internal/bootargs"
	"pyro-mcp/agent/internal/commands"
	"pyro-mcp/agent/internal/ops"
	"pyro-mcp/agent/internal/secrets"
	"pyro-mcp/agent/internal/services"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/shells"
	"pyro-mcp/agent/internal/sysinit"
	"pyro-mcp/agent/internal/transport"

	"golang.org/x/sys/unix"
)

// testVsockEnv names a path prefix that, when set, makes --vsock PORT serve a
// Unix socket at PREFIX_PORT instead of AF_VSOCK: the fake Firecracker of
// test/firecracker boots the agent from the backend's command line and
// bridges CONNECT PORT to that socket (Firecracker's own naming for
// guest-initiated connections). Nothing in a real guest sets it.
const testVsockEnv = "PYRO_AGENT_TEST_VSOCK_UDS"

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0"

type options struct {
	listen   string
	serial   string
	vsock    uint
	init     bool
	sandbox  bool
	hostname string
	readyFd  int
	gateFd   int
	runDir   string
	worker   bool
	version  bool
	bindUnix string
	bindFd   int
	dnsAllow string
	parent   int
	command  []string
	// boot is the kernel command line, read when acting as a VM's init.
	boot bootargs.Args
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pyro-agent: "+format+"\n", args...)
}

// parseFlags parses the command line. As PID 1 it is lenient: the kernel
// hands init the command-line words it does not know. As a VM's init (PID 1
// or --init) with no transport flag, the transport comes from the kernel
// command line that readBoot returns (pyro.transport= serial | vsock:PORT;
// serial by default).
func parseFlags(args []string, pid1 bool, readBoot func() (bootargs.Args, error)) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("pyro-agent", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "", "serve on a Unix socket: unix:/path/agent.sock, or fd:N for a listening socket inherited as descriptor N")
	fs.StringVar(&o.bindUnix, "bind-unix", "", "host side of a sandbox launch: create this listening Unix socket, put it at --bind-fd, then exec the command after --")
	fs.IntVar(&o.bindFd, "bind-fd", -1, "with --bind-unix: the descriptor the socket is placed at (3 or more)")
	fs.StringVar(&o.serial, "serial", "", "serve on virtio-serial ports: auto (ports named pyro.agent*) or a device path")
	fs.UintVar(&o.vsock, "vsock", 0, "serve on this AF_VSOCK port")
	fs.BoolVar(&o.init, "init", false, "act as the machine's init (default when PID 1)")
	fs.BoolVar(&o.sandbox, "sandbox", false, "running in the namespace sandbox: no mounts, shutdown exits")
	fs.StringVar(&o.hostname, "hostname", "", "set this hostname (a VM also reads pyro.hostname= from the kernel command line)")
	fs.StringVar(&o.runDir, "run-dir", "/run", "where pyro-services/ and pyro-secrets/ live (tests point it elsewhere)")
	fs.IntVar(&o.readyFd, "ready-fd", -1, "write READY\\n to this file descriptor, then close it, once serving")
	fs.IntVar(&o.gateFd, "gate-fd", -1, "internal: serve only once this file descriptor reads EOF (init's machine setup is done)")
	fs.BoolVar(&o.worker, strings.TrimPrefix(sysinit.WorkerFlag, "--"), false, "internal: the agent proper, started by the init supervisor")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.dnsAllow, "dns-allow", "", "host side of a networked machine: serve the allow-list resolver of this config file inside the machine's network namespace")
	fs.IntVar(&o.parent, "parent", 0, "with --dns-allow: the launcher's pid; the resolver exits when it does")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.dnsAllow != "" {
		if o.parent <= 0 || fs.NArg() > 0 {
			return nil, fmt.Errorf("--dns-allow needs --parent PID and no other arguments")
		}
		return o, nil
	}
	if o.bindUnix != "" {
		if o.bindFd < 3 || fs.NArg() == 0 {
			return nil, fmt.Errorf("--bind-unix needs --bind-fd N (N >= 3) and a command after --")
		}
		o.command = fs.Args()
		return o, nil
	}
	if fs.NArg() > 0 && !pid1 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (pid1 || o.init) && !o.worker && !o.sandbox {
		boot, err := readBoot()
		o.boot = boot
		if o.listen == "" && o.serial == "" && o.vsock == 0 {
			if err != nil {
				return nil, err
			}
			switch boot.Transport.Kind {
			case "vsock":
				o.vsock = uint(boot.Transport.Port)
			default:
				o.serial = "auto"
			}
		}
	}
	modes := 0
	for _, set := range []bool{o.listen != "", o.serial != "", o.vsock != 0} {
		if set {
			modes++
		}
	}
	if !o.version && modes != 1 {
		return nil, fmt.Errorf("exactly one of --listen, --serial, --vsock is required")
	}
	if o.listen != "" && !strings.HasPrefix(o.listen, "unix:") {
		if _, err := listenFd(o.listen); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// closeOnExecInherited marks every descriptor above stderr close-on-exec;
// the ones init hands to its workers go through ExtraFiles, which clears it.
func closeOnExecInherited() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// listenFd is N of --listen fd:N.
func listenFd(listen string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(listen, "fd:"))
	if !strings.HasPrefix(listen, "fd:") || err != nil || n < 3 {
		return 0, fmt.Errorf("--listen takes unix:/path or fd:N (N >= 3), got %q", listen)
	}
	return n, nil
}

// workerArgs are the worker's flags: the transport and mode, resolved.
func (o *options) workerArgs() []string {
	args := []string{sysinit.WorkerFlag}
	switch {
	case o.listen != "":
		args = append(args, "--listen", o.listen)
	case o.serial != "":
		args = append(args, "--serial", o.serial)
	default:
		args = append(args, "--vsock", strconv.FormatUint(uint64(o.vsock), 10))
	}
	if o.sandbox {
		args = append(args, "--sandbox")
	}
	// The supervisor adds --ready-fd and --gate-fd for the files it hands down.
	return append(args, "--run-dir", o.runDir)
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "--realpath" && os.Getpid() != 1 {
		os.Exit(runRealpath(os.Args[2]))
	}
	o, err := parseFlags(os.Args[1:], os.Getpid() == 1, bootargs.Read)
	if err != nil {
		logf("%v", err)
		os.Exit(2)
	}
	if o.version {
		fmt.Println(version)
		return
	}
	if o.bindUnix != "" {
		err := transport.BindAndExec(o.bindUnix, o.bindFd, o.command)
		logf("%v", err)
		os.Exit(1)
	}
	if o.dnsAllow != "" {
		if err := runDNSAllow(o.dnsAllow, o.parent); err != nil {
			logf("dns-allow: %v", err)
			os.Exit(1)
		}
		return
	}
	if !o.worker && (o.init || os.Getpid() == 1) {
		os.Exit(runInit(o))
	}
	if err := serve(o); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}

// runInit supervises the worker and prepares the machine while the worker
// starts (the worker serves once the setup is done).
func runInit(o *options) int {
	sup := &sysinit.Supervisor{Args: o.workerArgs(), Logf: logf}
	sup.Setup = func() {
		if !o.sandbox {
			if err := sysinit.MountVM(); err != nil {
				logf("mounts: %v", err)
			}
			if err := sysinit.LoopbackUp(); err != nil {
				logf("loopback: %v", err)
			}
		}
		name := o.hostname
		if name == "" && !o.sandbox {
			name = o.boot.Hostname
		}
		if name != "" {
			if err := sysinit.SetHostname(name); err != nil {
				logf("hostname: %v", err)
			}
		}
	}
	if o.readyFd >= 0 {
		sup.ReadyFile = os.NewFile(uintptr(o.readyFd), "ready-fd")
	}
	if strings.HasPrefix(o.listen, "fd:") {
		fd, _ := listenFd(o.listen)
		// Kept for every worker, but never inherited by anything else init starts.
		unix.CloseOnExec(fd)
		sup.ListenFile = os.NewFile(uintptr(fd), "listen-fd")
	}
	if o.sandbox {
		// Whatever else the launcher left open (the machine network's signal
		// socket, which is also slirp4netns's exit fd) stays open in init, so
		// it lives exactly as long as the machine, but no guest process
		// inherits it.
		closeOnExecInherited()
	}
	if !o.sandbox && os.Getpid() == 1 {
		sup.PowerOff = func() { sysinit.PowerOff(logf) }
		if o.boot.Prewarm {
			// The shell every exec goes through, and with it the dynamic loader and libc.
			sup.Prewarm = []string{"/bin/sh", "-c", ":"}
		}
	}
	return sup.Run()
}

// serve runs the agent proper until a shutdown request.
func serve(o *options) error {
	if !o.worker && o.hostname != "" {
		// Without init duties (a worker's init already did this).
		if err := sysinit.SetHostname(o.hostname); err != nil {
			logf("hostname: %v", err)
		}
	}
	deps := ops.Deps{
		Shells:   shells.NewManager(shells.Config{}),
		Services: services.NewManager(services.Config{BaseDir: filepath.Join(o.runDir, "pyro-services")}),
		Commands: commands.NewManager(commands.Config{}),
		// As a VM's init, secrets get a tmpfs of their own.
		Secrets: &secrets.Store{Dir: filepath.Join(o.runDir, "pyro-secrets"), Tmpfs: o.worker && !o.sandbox},
	}
	if o.worker && !o.sandbox {
		deps.Activate = sysinit.Activate
	}
	deps.PowerOff = func() {
		// The reply to shutdown is on the wire. Stop what the agent owns,
		// then exit 0: a supervising init powers the VM off or ends the
		// sandbox.
		deps.Services.StopAll(2 * time.Second)
		deps.Shells.CloseAll()
		// Background commands are left to the power-off, which ends every
		// process: the host reports them lost (their output goes with the machine).
		os.Exit(0)
	}
	handlers, caps := ops.Registry(deps)
	srv := &session.Server{AgentVersion: version, Handlers: handlers, Capabilities: caps, Logf: logf}
	ctx := context.Background()

	switch {
	case strings.HasPrefix(o.listen, "fd:"):
		fd, _ := listenFd(o.listen)
		l, err := transport.ListenerFromFd(fd)
		if err != nil {
			return err
		}
		ready(o)
		return transport.ServeListener(ctx, srv, l, logf)
	case o.listen != "":
		path := strings.TrimPrefix(o.listen, "unix:")
		l, err := transport.ListenUnix(path)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", path, err)
		}
		ready(o)
		return transport.ServeListener(ctx, srv, l, logf)
	case o.vsock != 0 && os.Getenv(testVsockEnv) != "":
		// Test hook: a Unix socket stands in for the guest's vsock port.
		path := fmt.Sprintf("%s_%d", os.Getenv(testVsockEnv), o.vsock)
		l, err := transport.ListenUnix(path)
		if err != nil {
			return fmt.Errorf("listen on %s (vsock port %d): %w", path, o.vsock, err)
		}
		ready(o)
		return transport.ServeListener(ctx, srv, l, logf)
	case o.vsock != 0:
		l, err := transport.ListenVsock(uint32(o.vsock))
		if err != nil {
			return fmt.Errorf("listen on vsock port %d: %w", o.vsock, err)
		}
		ready(o)
		return l.Serve(ctx, srv, logf)
	default:
		ports := []string{o.serial}
		if o.serial == "auto" {
			var err error
			if ports, err = transport.WaitForAgentPorts(ctx, logf); err != nil {
				return err
			}
		}
		ready(o)
		errs := make(chan error, 1)
		serveOne := func(p string) {
			go func() {
				err := transport.ServeSerial(ctx, srv, p, logf)
				select {
				case errs <- err:
				default:
				}
			}()
		}
		for _, p := range ports {
			serveOne(p)
		}
		if o.serial == "auto" {
			go transport.WatchAgentPorts(ctx, ports, serveOne)
		}
		return <-errs
	}
}

// ready waits for init's machine setup (--gate-fd), then tells whoever
// started the agent that it is serving: one line on stdout, and on
// --ready-fd when given.
func ready(o *options) {
	if o.gateFd >= 0 {
		if gate := os.NewFile(uintptr(o.gateFd), "gate-fd"); gate != nil {
			_, _ = io.Copy(io.Discard, gate)
			gate.Close()
		}
	}
	os.Stdout.WriteString("READY\n")
	if o.readyFd >= 0 {
		f := os.NewFile(uintptr(o.readyFd), "ready-fd")
		if f != nil {
			_, _ = f.WriteString("READY\n")
			f.Close()
		}
	}
}
