package archive

import (
	"path"
	"strings"

	"pyro-mcp/agent/internal/agenterr"
)

// cleanName turns a tar entry name into a clean relative slash path, or fails
// for names that are absolute, climb with "..", contain NUL or are too long.
// The archive root ("." or "./") cleans to "".
func cleanName(name string, maxLen int) (string, error) {
	if len(name) > maxLen {
		return "", agenterr.New(agenterr.Limit, "entry name longer than %d bytes", maxLen)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", agenterr.New(agenterr.BadRequest, "entry name contains NUL")
	}
	if strings.HasPrefix(name, "/") {
		return "", agenterr.New(agenterr.BadRequest, "absolute entry name %q refused", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", agenterr.New(agenterr.BadRequest, "entry name %q contains '..'", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}
