package ops

import (
	"encoding/base64"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/secrets"
	"pyro-mcp/agent/internal/session"
)

// SecretsPut replaces the set of secret files: secrets_put.
func SecretsPut(store *secrets.Store) session.Handler {
	return func(req *session.Request) (any, error) {
		var params struct {
			Files map[string]string `json:"files"`
			// Owner, when set, owns the secrets (a workspace's image User): readable by it, by no other user.
			Owner *FileOwner `json:"owner"`
		}
		if err := req.Decode(&params); err != nil {
			return nil, err
		}
		files := make(map[string][]byte, len(params.Files))
		for name, b64 := range params.Files {
			value, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, agenterr.New(agenterr.BadRequest, "secret %q is not valid base64", name)
			}
			files[name] = value
		}
		var owner *secrets.Owner
		if params.Owner != nil {
			owner = &secrets.Owner{UID: params.Owner.UID, GID: params.Owner.GID}
		}
		n, err := store.PutAs(files, owner)
		if err != nil {
			return nil, err
		}
		return map[string]int{"count": n}, nil
	}
}
