package ops

import (
	"encoding/base64"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/sysinit"
)

// maxEntropy bounds the random bytes the host may send with activate.
const maxEntropy = 4096

// Activate returns the activate op: the host gives a booted or restored VM
// its identity (hostname, clock, fresh entropy) and makes its root writable.
// apply does the machine-level work (sysinit.Activate in a VM).
func Activate(apply func(sysinit.Identity) error) session.Handler {
	return func(req *session.Request) (any, error) {
		var params struct {
			Hostname   string `json:"hostname"`
			UnixTimeMs int64  `json:"unix_time_ms"`
			Entropy    string `json:"entropy"`
		}
		if err := req.Decode(&params); err != nil {
			return nil, err
		}
		if len(params.Hostname) > 64 {
			return nil, agenterr.New(agenterr.BadRequest, "activate: hostname longer than 64 bytes")
		}
		if params.UnixTimeMs < 0 {
			return nil, agenterr.New(agenterr.BadRequest, "activate: negative unix_time_ms")
		}
		entropy, err := base64.StdEncoding.DecodeString(params.Entropy)
		if err != nil {
			return nil, agenterr.New(agenterr.BadRequest, "activate: entropy is not valid base64")
		}
		if len(entropy) > maxEntropy {
			return nil, agenterr.New(agenterr.BadRequest, "activate: more than %d bytes of entropy", maxEntropy)
		}
		id := sysinit.Identity{Hostname: params.Hostname, UnixNano: params.UnixTimeMs * 1_000_000, Entropy: entropy}
		if err := apply(id); err != nil {
			return nil, agenterr.Wrap(agenterr.IO, err, "activate")
		}
		return nil, nil
	}
}
