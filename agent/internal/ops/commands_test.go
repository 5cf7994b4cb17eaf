package ops

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"pyro-mcp/agent/internal/commands"
)

// A background command outlives the session that started it: a second
// session (another host process) waits for it and reads its output.
func TestCommandOutlivesItsSession(t *testing.T) {
	deps := testDeps(t)
	deps.Commands = commands.NewManager(commands.Config{})
	t.Cleanup(func() { deps.Commands.KillAll(time.Second) })

	first, hello := newHostWith(t, deps)
	if !strings.Contains(toJSON(t, hello["capabilities"]), `"command"`) {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	first.send(1, map[string]any{"op": "command_start", "command_id": "cmd-0123456789ab", "argv": []string{"/bin/sh", "-c", "sleep 0.5; echo done; echo err >&2; exit 4"}, "cwd": "/tmp"})
	o := first.collect(1, 10*time.Second)
	if o.final["type"] != "result" || o.final["state"] != "running" {
		t.Fatalf("command_start: %v", o.final)
	}
	first.conn.Close() // the starting host goes away

	second, _ := newHostWith(t, deps)
	second.send(1, map[string]any{"op": "command_read", "command_id": "cmd-0123456789ab", "cursor": 0, "max_bytes": 100, "wait_ms": 10_000})
	o = second.collect(1, 15*time.Second)
	out, _ := base64.StdEncoding.DecodeString(o.final["output_b64"].(string))
	if o.final["state"] != "exited" || o.final["exit_code"] != float64(4) || string(out) != "done\nerr\n" || o.final["next_cursor"] != float64(9) {
		t.Fatalf("command_read: %v %q", o.final, out)
	}
	second.send(2, map[string]any{"op": "command_read", "command_id": "cmd-0123456789ab", "cursor": -1})
	if o := second.collect(2, 5*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("negative cursor: %v", o.final)
	}
	second.send(3, map[string]any{"op": "command_status", "command_id": "cmd-ffffffffffff"})
	if o := second.collect(3, 5*time.Second); o.final["code"] != "not_found" {
		t.Fatalf("unknown id: %v", o.final)
	}
	second.send(4, map[string]any{"op": "command_kill", "command_id": "cmd-0123456789ab", "signal": "BOGUS"})
	if o := second.collect(4, 5*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("bad signal: %v", o.final)
	}
}
