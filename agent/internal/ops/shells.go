package ops

import (
	"encoding/base64"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/shells"
)

// maxShellRead keeps a shell_read result, base64-encoded, inside one frame.
const maxShellRead = 512 << 10

// shellOps returns the shell_* handlers on m.
func shellOps(m *shells.Manager) map[string]session.Handler {
	return map[string]session.Handler{
		"shell_open": func(req *session.Request) (any, error) {
			var p struct {
				Cwd  string            `json:"cwd"`
				Cols uint16            `json:"cols"`
				Rows uint16            `json:"rows"`
				Env  map[string]string `json:"env"`
				User *ProcessUser      `json:"user"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			id, pid, err := m.Open(shells.OpenOptions{Cwd: p.Cwd, Cols: p.Cols, Rows: p.Rows, Env: p.Env, Credential: p.User.Credential()})
			if err != nil {
				return nil, err
			}
			return map[string]any{"shell_id": id, "pid": pid}, nil
		},
		"shell_read": func(req *session.Request) (any, error) {
			var p struct {
				ShellID  string `json:"shell_id"`
				Cursor   int64  `json:"cursor"`
				MaxBytes *int   `json:"max_bytes"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			maxBytes := shells.DefaultReadBytes
			if p.MaxBytes != nil {
				maxBytes = *p.MaxBytes
			}
			if maxBytes < 0 || p.Cursor < 0 {
				return nil, agenterr.New(agenterr.BadRequest, "shell_read: cursor and max_bytes must not be negative")
			}
			r, err := m.Read(p.ShellID, p.Cursor, min(maxBytes, maxShellRead))
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"output_b64":    base64.StdEncoding.EncodeToString(r.Data),
				"cursor":        r.Cursor,
				"next_cursor":   r.NextCursor,
				"dropped_bytes": r.Dropped,
				"alive":         r.Alive,
				"exit_code":     r.ExitCode,
			}, nil
		},
		"shell_write": func(req *session.Request) (any, error) {
			var p struct {
				ShellID  string `json:"shell_id"`
				InputB64 string `json:"input_b64"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			input, err := base64.StdEncoding.DecodeString(p.InputB64)
			if err != nil {
				return nil, agenterr.New(agenterr.BadRequest, "shell_write: input_b64 is not valid base64")
			}
			n, err := m.Write(p.ShellID, input)
			if err != nil {
				return nil, err
			}
			return map[string]int{"bytes": n}, nil
		},
		"shell_signal": func(req *session.Request) (any, error) {
			var p struct {
				ShellID string `json:"shell_id"`
				Signal  string `json:"signal"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			if p.Signal == "" {
				p.Signal = "INT"
			}
			return nil, m.Signal(p.ShellID, p.Signal)
		},
		"shell_close": func(req *session.Request) (any, error) {
			var p struct {
				ShellID string `json:"shell_id"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			code, err := m.Close(p.ShellID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"exit_code": code}, nil
		},
	}
}
