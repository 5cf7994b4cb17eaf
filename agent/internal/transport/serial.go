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
	// reconnectPoll is how often a port with no host is read again.
	reconnectPoll = 20 * time.Millisecond
)

// FindAgentPorts returns the device paths of the virtio-serial ports whose
// name starts with PortNamePrefix. Without udev there is no
// /dev/virtio-ports/, so the name comes from sysfs; a missing device node is
// created from sysfs's major:minor.
func FindAgentPorts() ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(sysPorts, "vport*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, dir := range dirs {
		name, err := os.ReadFile(filepath.Join(dir, "name"))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(name)), PortNamePrefix) {
			continue
		}
		dev := "/dev/" + filepath.Base(dir)
		if err := ensureCharDevice(dev, filepath.Join(dir, "dev")); err != nil {
			return nil, err
		}
		out = append(out, dev)
	}
	return out, nil
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

// WaitForAgentPorts polls FindAgentPorts until it finds at least one port
// (the virtio_console module may still be loading) or ctx ends.
func WaitForAgentPorts(ctx context.Context, logf Logf) ([]string, error) {
	warned := false
	for {
		ports, err := FindAgentPorts()
		if err == nil && len(ports) > 0 {
			return ports, nil
		}
		if !warned {
			logf("waiting for a virtio-serial port named %s* (err: %v)", PortNamePrefix, err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

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
}

func (r *serialReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || !errors.Is(err, io.EOF) || !r.waiting.Load() {
			return n, err
		}
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-time.After(reconnectPoll):
		}
	}
}
