// Package probe judges readiness inside the guest: a file appears, a TCP port
// accepts, an HTTP endpoint answers 2xx/3xx, or a shell command exits 0.
package probe

import (
	"net/url"

	"pyro-mcp/agent/internal/agenterr"
)

// Readiness kinds.
const (
	KindFile    = "file"
	KindTCP     = "tcp"
	KindHTTP    = "http"
	KindCommand = "command"
)

// Readiness is one readiness check, as the protocol carries it: Kind selects
// which of the other fields is used.
type Readiness struct {
	Kind    string `json:"kind"`
	Path    string `json:"path,omitempty"`    // file: relative to the Prober's Cwd
	Address string `json:"address,omitempty"` // tcp: host:port
	URL     string `json:"url,omitempty"`     // http: http:// or https:// URL
	Command string `json:"command,omitempty"` // command: run by /bin/sh -lc
}

// Validate checks that r names a known kind and carries its field.
func (r Readiness) Validate() error {
	switch r.Kind {
	case KindFile:
		if r.Path == "" {
			return agenterr.New(agenterr.BadRequest, "file readiness needs a path")
		}
	case KindTCP:
		if r.Address == "" {
			return agenterr.New(agenterr.BadRequest, "tcp readiness needs an address")
		}
	case KindHTTP:
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return agenterr.New(agenterr.BadRequest, "http readiness needs an http(s) URL, got %q", r.URL)
		}
	case KindCommand:
		if r.Command == "" {
			return agenterr.New(agenterr.BadRequest, "command readiness needs a command")
		}
	default:
		return agenterr.New(agenterr.BadRequest, "unknown readiness kind %q", r.Kind)
	}
	return nil
}
