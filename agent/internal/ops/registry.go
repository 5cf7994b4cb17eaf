package ops

import "pyro-mcp/agent/internal/session"

// Registry returns the agent's handlers and the capabilities they implement.
// powerOff runs after a shutdown request has been answered.
func Registry(powerOff func()) (map[string]session.Handler, []string) {
	handlers := map[string]session.Handler{
		"exec":     Exec,
		"sync":     Sync,
		"shutdown": Shutdown(powerOff),
	}
	caps := []string{"exec", "exec.stdin", "exec.pty", "sync", "shutdown"}
	return handlers, caps
}
