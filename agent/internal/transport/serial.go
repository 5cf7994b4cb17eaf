package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/session"
)

// PortNamePrefix is how the host names the agent's virtio-serial ports.
const PortNamePrefix = "pyro.agent"

const (
	sysPorts = "/sys/class/virtio-ports"
	// reconnectPoll is how often a port with no host is read again, at most.
	reconnectPoll = 20 * time.Millisecond
	// firstReconnectPoll is the first wait after the port went quiet; each
	// further wait doubles, up to reconnectPoll. The port driver cannot block
	// until a host connects (read returns EOF, poll says HUP), so it is
	// polled; polling fast at first answers a host that comes right back
	// within about a millisecond instead of up to 20: the pool's hand-out,
	// whose machine was paused right after its warm-up's session ended, or
	// a CLI's next command. Idle, it settles at 50 reads a second as before.
	firstReconnectPoll = time.Millisecond
)

// reconnectDelay is the wait before the next read of a quiet port, after
// `quiet` empty reads in a row.
func reconnectDelay(quiet int) time.Duration {
	if quiet >= 8 {
		return reconnectPoll
	}
	return min(firstReconnectPoll<<quiet, reconnectPoll)
}

// FindAgentPorts returns the device paths of the virtio-serial ports whose
// name starts with PortNamePrefix. Without udev there is no
// /dev/virtio-ports/, so the name comes from sysfs; a missing device node is
// created from sysfs's major:minor.
func FindAgentPorts() ([]string, error) {
	ports, _, err := findAgentPorts()
	return ports, err
}

// findAgentPorts is FindAgentPorts, and whether some port present has no
// name yet (the host names ports in control messages after adding them).
func findAgentPorts() (ports []string, unnamed bool, err error) {
	vports, unnamed, err := namedPorts(sysPorts)
	if err != nil {
		return nil, false, err
	}
	for _, vport := range vports {
		dev := "/dev/" + vport
		if err := ensureCharDevice(dev, filepath.Join(sysPorts, vport, "dev")); err != nil {
			return nil, false, err
		}
		ports = append(ports, dev)
	}
	return ports, unnamed, nil
}

// namedPorts lists the vport* entries of sysDir named PortNamePrefix*, and
// whether some entry's name is still empty.
func namedPorts(sysDir string) (vports []string, unnamed bool, err error) {
	dirs, err := filepath.Glob(filepath.Join(sysDir, "vport*"))
	if err != nil {
		return nil, false, err
	}
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "name"))
		name := strings.TrimSpace(string(raw))
		if err != nil || name == "" {
			unnamed = true
			continue
		}
		if strings.HasPrefix(name, PortNamePrefix) {
			vports = append(vports, filepath.Base(dir))
		}
	}
	return vports, unnamed, nil
}

func ensureCharDevice(path, sysDev string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	raw, err := os.ReadFile(sysDev)
	if err != nil {
		return err
	}
	majorStr, minorStr, ok := strings.Cut(strings.TrimSpace(string(raw)), ":")
	major, err1 := strconv.ParseUint(majorStr, 10, 32)
	minor, err2 := strconv.ParseUint(minorStr, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("bad device number %q in %s", raw, sysDev)
	}
	return unix.Mknod(path, unix.S_IFCHR|0o600, int(unix.Mkdev(uint32(major), uint32(minor))))
}

// Port discovery: the virtio_console module may still be probing, and the
// host names each port in a control message after adding it. The agent is
// the guest's init and the host is waiting for its hello, so the ports are
// polled often at first (a glob and a few small sysfs reads per poll).
const (
	portPoll = 5 * time.Millisecond
	// portSettle is how long WaitForAgentPorts waits for unnamed ports once
	// it has found one of ours.
	portSettle = 300 * time.Millisecond
	// portWatch is how long WatchAgentPorts looks for ports that appear late.
	portWatch     = 10 * time.Second
	portWatchPoll = 50 * time.Millisecond
)

// WaitForAgentPorts polls until it finds at least one agent port and no
// port is left unnamed (or portSettle passed since the first one showed),
// or ctx ends.
func WaitForAgentPorts(ctx context.Context, logf Logf) ([]string, error) {
	warned := false
	var firstFound time.Time
	for {
		ports, unnamed, err := findAgentPorts()
		if err == nil && len(ports) > 0 {
			if firstFound.IsZero() {
				firstFound = time.Now()
			}
			if !unnamed || time.Since(firstFound) >= portSettle {
				return ports, nil
			}
		}
		if !warned && firstFound.IsZero() {
			logf("waiting for a virtio-serial port named %s* (err: %v)", PortNamePrefix, err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(portPoll):
		}
	}
}

// WatchAgentPorts calls serve for each agent port that appears within
// portWatch and is not in known, so a port named after WaitForAgentPorts
// returned is still served.
func WatchAgentPorts(ctx context.Context, known []string, serve func(port string)) {
	seen := make(map[string]bool, len(known))
	for _, p := range known {
		seen[p] = true
	}
	deadline := time.Now().Add(portWatch)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(portWatchPoll):
		}
		ports, unnamed, err := findAgentPorts()
		if err != nil {
			continue
		}
		for _, p := range ports {
			if !seen[p] {
				seen[p] = true
				serve(p)
			}
		}
		if !unnamed && len(seen) >= maxAgentPorts {
			return
		}
	}
}

// maxAgentPorts is how many ports the host gives the agent (pyro.agent.0…7).
const maxAgentPorts = 8

// ServeSerial runs sessions on one virtio-serial port, one after another,
// forever. A read of 0 bytes means no host is connected: it ends the session
// (its execs are killed) and the port is polled until the next host writes.
func ServeSerial(ctx context.Context, srv *session.Server, path string, logf Logf) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// One lock across sessions: a write of a dead session that is blocked
	// until the next host connects finishes before the new hello.
	lock := &sync.Mutex{}
	r := &serialReader{ctx: ctx, f: f}
	// One buffer for every session: a PYROSYNC that ended the last session is still in it.
	br := bufio.NewReaderSize(r, 64<<10)
	for ctx.Err() == nil {
		r.waiting.Store(true)
		err := srv.Serve(ctx, br, f, session.Options{WriteLock: lock, OnSynced: func() { r.waiting.Store(false) }})
		if errors.Is(err, session.ErrResync) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			logf("%s: session ended: %v", path, err)
			time.Sleep(reconnectPoll)
		}
	}
	return ctx.Err()
}

// serialReader turns the port's EOF into "try again later" while waiting for
// a host's PYROSYNC, and into the end of the session once synced.
type serialReader struct {
	ctx     context.Context
	f       io.Reader
	waiting atomic.Bool
	// quiet counts the empty reads since the port last gave data (reconnectDelay).
	quiet int
}

func (r *serialReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 {
			r.quiet = 0
		}
		if n > 0 || !errors.Is(err, io.EOF) || !r.waiting.Load() {
			return n, err
		}
		delay := reconnectDelay(r.quiet)
		r.quiet++
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-time.After(delay):
		}
	}
}
