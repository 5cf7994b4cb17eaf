package ops

import (
	"pyro-mcp/agent/internal/secrets"
	"pyro-mcp/agent/internal/services"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/shells"
)

// Deps are what the handlers share for the agent's whole life: shells and
// services outlive sessions.
type Deps struct {
	// PowerOff runs after a shutdown request has been answered.
	PowerOff func()
	Shells   *shells.Manager
	Services *services.Manager
	Secrets  *secrets.Store
}

// Registry returns the agent's handlers and the capabilities they implement.
// A nil manager leaves its ops (and capability) out.
func Registry(d Deps) (map[string]session.Handler, []string) {
	powerOff := d.PowerOff
	if powerOff == nil {
		powerOff = func() {}
	}
	handlers := map[string]session.Handler{
		"exec":        Exec,
		"sync":        Sync,
		"shutdown":    Shutdown(powerOff),
		"put_archive": PutArchive,
		"get_archive": GetArchive,
		"probe":       Probe,
	}
	caps := []string{"exec", "exec.stdin", "exec.pty", "files.tar", "probe", "sync", "shutdown"}
	if d.Shells != nil {
		for op, h := range shellOps(d.Shells) {
			handlers[op] = h
		}
		caps = append(caps, "shell")
	}
	if d.Services != nil {
		for op, h := range serviceOps(d.Services) {
			handlers[op] = h
		}
		caps = append(caps, "service")
	}
	if d.Secrets != nil {
		handlers["secrets_put"] = SecretsPut(d.Secrets)
		caps = append(caps, "secrets")
	}
	return handlers, caps
}
