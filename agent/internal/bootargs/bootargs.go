// Package bootargs is the agent's one reader of the kernel command line: the
// pyro.* keys a VM backend writes (src/runtime/guest-boot on the host side).
// protocol/boot/vectors.json pins both sides; bootargs_test.go checks this
// parser against it.
package bootargs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Keys read from the kernel command line.
const (
	KeyTransport = "pyro.transport"
	KeyHostname  = "pyro.hostname"
	KeyPrewarm   = "pyro.prewarm"
	KeyNet       = "pyro.net"
	KeyActivate  = "pyro.activate"
)

// Transport is where the agent serves the host.
type Transport struct {
	// Kind is "serial" (virtio-serial ports pyro.agent*) or "vsock".
	Kind string
	// Port is the vsock port (Kind "vsock").
	Port uint32
}

// String renders the transport as on the command line (serial, vsock:PORT).
func (t Transport) String() string {
	if t.Kind == "vsock" {
		return "vsock:" + strconv.FormatUint(uint64(t.Port), 10)
	}
	return "serial"
}

// Args are the keys the agent acts on.
type Args struct {
	// Transport defaults to serial.
	Transport Transport
	// Hostname is pyro.hostname= ("" when absent).
	Hostname string
	// Prewarm is false only with pyro.prewarm=0.
	Prewarm bool
	// Activate is pyro.activate: booted read-only, waiting for the host's activate op.
	Activate bool
	// DNS is the third field of pyro.net=ADDR/PREFIX,GATEWAY,DNS ("" when absent).
	DNS string
}

// Parse reads the words of a kernel command line. Unknown words are ignored
// (the kernel's own and other software's); a malformed pyro.transport is an
// error, since the agent could not be reached (the other keys are still read).
func Parse(cmdline string) (Args, error) {
	a := Args{Transport: Transport{Kind: "serial"}, Prewarm: true}
	var firstErr error
	for _, field := range strings.Fields(cmdline) {
		key, value, hasValue := strings.Cut(field, "=")
		switch {
		case key == KeyTransport && hasValue:
			if t, err := parseTransport(value); err != nil {
				firstErr = err
			} else {
				a.Transport = t
			}
		case key == KeyHostname && hasValue:
			a.Hostname = value
		case key == KeyPrewarm && hasValue:
			a.Prewarm = value != "0"
		case key == KeyActivate && !hasValue:
			a.Activate = true
		case key == KeyNet && hasValue:
			if parts := strings.Split(value, ","); len(parts) >= 3 {
				a.DNS = parts[2]
			} else {
				a.DNS = ""
			}
		}
	}
	return a, firstErr
}

func parseTransport(v string) (Transport, error) {
	switch {
	case v == "" || v == "serial":
		return Transport{Kind: "serial"}, nil
	case strings.HasPrefix(v, "vsock:"):
		port, err := strconv.ParseUint(strings.TrimPrefix(v, "vsock:"), 10, 32)
		if err != nil || port == 0 {
			return Transport{}, fmt.Errorf("bad %s=%s on the kernel command line", KeyTransport, v)
		}
		return Transport{Kind: "vsock", Port: uint32(port)}, nil
	default:
		return Transport{}, fmt.Errorf("unknown %s=%s on the kernel command line", KeyTransport, v)
	}
}

// Read parses /proc/cmdline. A missing file (not a VM, or no /proc yet)
// reads as an empty command line.
func Read() (Args, error) {
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return Parse("")
	}
	return Parse(string(raw))
}
