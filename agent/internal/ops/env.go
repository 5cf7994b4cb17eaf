package ops

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"pyro-mcp/agent/internal/agenterr"
)

// DefaultPath is the PATH every process starts with, unless env overrides it.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Bounds on what an exec request may carry.
const (
	maxArgs   = 64 << 10
	maxEnvLen = 64 << 10
)

// BuildEnv returns the environment of a started process: PATH, HOME, TERM
// when term is not empty, then extra on top, as KEY=VALUE sorted by key.
func BuildEnv(extra map[string]string, term string) ([]string, error) {
	env := map[string]string{"PATH": DefaultPath, "HOME": "/root"}
	if term != "" {
		env["TERM"] = term
	}
	if len(extra) > maxEnvLen {
		return nil, agenterr.New(agenterr.Limit, "more than %d environment variables", maxEnvLen)
	}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, agenterr.New(agenterr.BadRequest, "bad environment variable name or value: %q", k)
		}
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// LookPath resolves a command name the way a shell would, with the PATH of
// the process's own environment (not the agent's).
func LookPath(name string, env []string) (string, error) {
	if name == "" {
		return "", agenterr.New(agenterr.BadRequest, "empty command name")
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := DefaultPath
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[len("PATH="):]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, name)
		if st, err := os.Stat(candidate); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", agenterr.New(agenterr.NotFound, "command not found: %s", name)
}
