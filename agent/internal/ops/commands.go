package ops

import (
	"encoding/base64"
	"syscall"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/commands"
	"pyro-mcp/agent/internal/session"
)

// maxCommandRead keeps a command_read result, base64-encoded, inside one frame.
const maxCommandRead = 512 << 10

// defaultKillGraceMs is how long a killed command gets to handle its signal before KILL.
const defaultKillGraceMs = 5000

// commandOps returns the command_* handlers (background commands) on m.
func commandOps(m *commands.Manager) map[string]session.Handler {
	type ref struct {
		CommandID string `json:"command_id"`
	}
	return map[string]session.Handler{
		"command_start": func(req *session.Request) (any, error) {
			var p struct {
				CommandID string            `json:"command_id"`
				Argv      []string          `json:"argv"`
				Cwd       string            `json:"cwd"`
				Env       map[string]string `json:"env"`
				User      *ProcessUser      `json:"user"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			check := execParams{Argv: p.Argv, Cwd: p.Cwd}
			if err := check.validate(); err != nil {
				return nil, err
			}
			env, err := BuildEnv(p.Env, "")
			if err != nil {
				return nil, err
			}
			path, err := LookPath(check.Argv[0], env)
			if err != nil {
				return nil, err
			}
			return m.Start(commands.StartRequest{ID: p.CommandID, Path: path, Argv: check.Argv, Env: env, Dir: check.Cwd, Credential: p.User.Credential()})
		},
		"command_list": func(req *session.Request) (any, error) {
			return map[string]any{"commands": m.List()}, nil
		},
		"command_status": func(req *session.Request) (any, error) {
			var p ref
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			return m.Status(p.CommandID)
		},
		"command_read": func(req *session.Request) (any, error) {
			var p struct {
				CommandID string `json:"command_id"`
				Cursor    int64  `json:"cursor"`
				MaxBytes  *int   `json:"max_bytes"`
				WaitMs    int64  `json:"wait_ms"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			maxBytes := commands.DefaultReadBytes
			if p.MaxBytes != nil {
				maxBytes = *p.MaxBytes
			}
			if maxBytes < 0 || p.Cursor < 0 || p.WaitMs < 0 || p.WaitMs > maxTimeoutMs {
				return nil, agenterr.New(agenterr.BadRequest, "command_read: cursor, max_bytes and wait_ms must not be negative (wait_ms at most %d)", maxTimeoutMs)
			}
			r, err := m.Read(req.Context(), p.CommandID, p.Cursor, min(maxBytes, maxCommandRead), time.Duration(p.WaitMs)*time.Millisecond)
			if err != nil {
				return nil, err
			}
			return struct {
				commands.State
				OutputB64    string `json:"output_b64"`
				Cursor       int64  `json:"cursor"`
				NextCursor   int64  `json:"next_cursor"`
				DroppedBytes int64  `json:"dropped_bytes"`
			}{r.State, base64.StdEncoding.EncodeToString(r.Data), r.Cursor, r.NextCursor, r.Dropped}, nil
		},
		"command_kill": func(req *session.Request) (any, error) {
			var p struct {
				CommandID string `json:"command_id"`
				Signal    string `json:"signal"`
				GraceMs   *int64 `json:"grace_ms"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			sig := syscall.SIGTERM
			if p.Signal != "" {
				s, ok := SignalByName(p.Signal)
				if !ok {
					return nil, agenterr.New(agenterr.BadRequest, "command_kill: unknown signal %q", p.Signal)
				}
				sig = s
			}
			grace := int64(defaultKillGraceMs)
			if p.GraceMs != nil {
				grace = *p.GraceMs
			}
			if grace < 0 || grace > maxTimeoutMs {
				return nil, agenterr.New(agenterr.BadRequest, "command_kill: grace_ms must be between 0 and %d", maxTimeoutMs)
			}
			return m.Kill(p.CommandID, sig, time.Duration(grace)*time.Millisecond)
		},
	}
}
