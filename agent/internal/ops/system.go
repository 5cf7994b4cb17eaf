package ops

import (
	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/session"
)

// Sync flushes every filesystem: the sync op.
func Sync(*session.Request) (any, error) {
	unix.Sync()
	return nil, nil
}

// Shutdown returns the shutdown op. It syncs, replies, and only then calls
// powerOff, which does what the agent's mode requires (power the VM off, or
// exit in the sandbox).
func Shutdown(powerOff func()) session.Handler {
	return func(req *session.Request) (any, error) {
		var params struct {
			Action string `json:"action"`
		}
		if err := req.Decode(&params); err != nil {
			return nil, err
		}
		if params.Action != "" && params.Action != "poweroff" {
			return nil, agenterr.New(agenterr.BadRequest, "shutdown: unknown action %q", params.Action)
		}
		unix.Sync()
		req.AfterReply(powerOff)
		return nil, nil
	}
}
