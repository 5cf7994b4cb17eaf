package ops

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalsByName are the signals the host may send (protocol/SPEC.md).
var signalsByName = map[string]syscall.Signal{
	"INT":  unix.SIGINT,
	"TERM": unix.SIGTERM,
	"KILL": unix.SIGKILL,
	"HUP":  unix.SIGHUP,
	"QUIT": unix.SIGQUIT,
	"USR1": unix.SIGUSR1,
	"USR2": unix.SIGUSR2,
}

// SignalByName returns the signal for a protocol name ("INT" or "SIGINT").
func SignalByName(name string) (syscall.Signal, bool) {
	sig, ok := signalsByName[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	return sig, ok
}

// SignalName returns the protocol name of a signal: "KILL" for SIGKILL.
func SignalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return strings.TrimPrefix(name, "SIG")
	}
	return "SIG" + itoa(int(sig))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
