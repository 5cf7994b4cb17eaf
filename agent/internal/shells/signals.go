package shells

import (
	"strings"
	"syscall"

	"pyro-mcp/agent/internal/agenterr"
)

var signals = map[string]syscall.Signal{
	"INT":  syscall.SIGINT,
	"TERM": syscall.SIGTERM,
	"KILL": syscall.SIGKILL,
	"HUP":  syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// ParseSignal maps a protocol signal name ("INT", also accepted as "SIGINT")
// to the signal.
func ParseSignal(name string) (syscall.Signal, error) {
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(name), "SIG")]; ok {
		return sig, nil
	}
	return 0, agenterr.New(agenterr.BadRequest, "unknown signal %q (want INT, TERM, KILL, HUP, QUIT, USR1 or USR2)", name)
}
