package ops

import (
	"pyro-mcp/agent/internal/commands"
	"pyro-mcp/agent/internal/secrets"
	"pyro-mcp/agent/internal/services"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/shells"
	"pyro-mcp/agent/internal/sysinit"
)

// Deps are what the handlers share for the agent's whole life: shells and
// services outlive sessions.
type Deps struct {
	// PowerOff runs after a shutdown request has been answered.
	PowerOff func()
	Shells   *shells.Manager
	Services *services.Manager
	// Commands are background commands (workspace exec --background).
	Commands *commands.Manager
	Secrets  *secrets.Store
	// Activate gives a VM its identity (sysinit.Activate); nil outside a VM,
	// where the activate op must not touch the host's hostname or clock.
	Activate func(sysinit.Identity) error
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
		"file_list":   FileList,
		"file_read":   FileRead,
		"file_write":  FileWrite,
		"file_apply":  FileApply,
	}
	caps := []string{"exec", "exec.stdin", "exec.pty", "files.tar", "files.ops", "probe", "sync", "shutdown"}
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
	if d.Commands != nil {
		for op, h := range commandOps(d.Commands) {
			handlers[op] = h
		}
		caps = append(caps, "command")
	}
	if d.Secrets != nil {
		handlers["secrets_put"] = SecretsPut(d.Secrets)
		caps = append(caps, "secrets")
	}
	if d.Activate != nil {
		handlers["activate"] = Activate(d.Activate)
		caps = append(caps, "activate")
	}
	return handlers, caps
}
