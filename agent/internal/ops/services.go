package ops

import (
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/probe"
	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/services"
	"pyro-mcp/agent/internal/session"
)

func millis(ms *int64, field string) (time.Duration, error) {
	if ms == nil {
		return 0, nil
	}
	if *ms <= 0 || *ms > maxTimeoutMs {
		return 0, agenterr.New(agenterr.BadRequest, "%s must be between 1 and %d", field, maxTimeoutMs)
	}
	return time.Duration(*ms) * time.Millisecond, nil
}

// serviceOps returns the service_* handlers on m.
func serviceOps(m *services.Manager) map[string]session.Handler {
	type named struct {
		Name string `json:"name"`
	}
	return map[string]session.Handler{
		"service_start": func(req *session.Request) (any, error) {
			var p struct {
				Name            string            `json:"name"`
				Argv            []string          `json:"argv"`
				Cwd             string            `json:"cwd"`
				Env             map[string]string `json:"env"`
				Readiness       *probe.Readiness  `json:"readiness"`
				ReadyTimeoutMs  *int64            `json:"ready_timeout_ms"`
				ReadyIntervalMs *int64            `json:"ready_interval_ms"`
				User            *ProcessUser      `json:"user"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			timeout, err := millis(p.ReadyTimeoutMs, "ready_timeout_ms")
			if err != nil {
				return nil, err
			}
			interval, err := millis(p.ReadyIntervalMs, "ready_interval_ms")
			if err != nil {
				return nil, err
			}
			return m.Start(req.Context(), services.StartRequest{
				Name: p.Name, Argv: p.Argv, Cwd: p.Cwd, Env: p.Env,
				Readiness: p.Readiness, ReadyTimeout: timeout, ReadyInterval: interval,
				Credential: p.User.Credential(),
			})
		},
		"service_list": func(*session.Request) (any, error) {
			return map[string]any{"services": m.List()}, nil
		},
		"service_status": func(req *session.Request) (any, error) {
			var p named
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			return m.Status(p.Name)
		},
		"service_logs": func(req *session.Request) (any, error) {
			var p struct {
				Name      string `json:"name"`
				TailLines int    `json:"tail_lines"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			if p.TailLines < 0 {
				return nil, agenterr.New(agenterr.BadRequest, "tail_lines must not be negative")
			}
			logs, err := m.Logs(p.Name, p.TailLines)
			if err != nil {
				return nil, err
			}
			return fitLogs(logs), nil
		},
		"service_stop": func(req *session.Request) (any, error) {
			var p struct {
				Name    string `json:"name"`
				GraceMs *int64 `json:"grace_ms"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			grace, err := millis(p.GraceMs, "grace_ms")
			if err != nil {
				return nil, err
			}
			return m.Stop(p.Name, grace)
		},
	}
}

// fitLogs trims the heads of both logs until the result fits in one frame
// (JSON escaping can make a log several times its size).
func fitLogs(logs services.Logs) services.Logs {
	for {
		payload, err := protocol.WithType("result", logs)
		if err == nil && len(payload) <= protocol.MaxPayload {
			return logs
		}
		logs.Stdout = logs.Stdout[len(logs.Stdout)/2:]
		logs.Stderr = logs.Stderr[len(logs.Stderr)/2:]
	}
}

// Probe waits for a readiness check: the probe op.
func Probe(req *session.Request) (any, error) {
	var p struct {
		Readiness  *probe.Readiness `json:"readiness"`
		TimeoutMs  *int64           `json:"timeout_ms"`
		IntervalMs *int64           `json:"interval_ms"`
	}
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if p.Readiness == nil {
		return nil, agenterr.New(agenterr.BadRequest, "probe: readiness is required")
	}
	timeout, err := millis(p.TimeoutMs, "timeout_ms")
	if err != nil {
		return nil, err
	}
	interval, err := millis(p.IntervalMs, "interval_ms")
	if err != nil {
		return nil, err
	}
	ready, detail, err := probe.Wait(req.Context(), *p.Readiness, timeout, interval)
	if err != nil {
		return nil, agenterr.Wrap(agenterr.BadRequest, err, "probe")
	}
	return map[string]any{"ready": ready, "detail": detail}, nil
}
