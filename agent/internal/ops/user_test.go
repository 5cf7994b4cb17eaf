package ops

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"pyro-mcp/agent/internal/commands"
)

// A workspace of an image with a non-root User: shells, services and
// background commands run as the `user` the host sends (uid, gid,
// supplementary groups), as exec already did.
func TestShellServiceAndCommandRunAsTheUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: setuid to another uid")
	}
	deps := testDeps(t)
	deps.Commands = commands.NewManager(commands.Config{})
	t.Cleanup(func() { deps.Commands.KillAll(time.Second) })
	h, _ := newHostWith(t, deps)
	user := map[string]any{"uid": 1000, "gid": 1001, "groups": []int{50}}
	const want = "1000:1001:1001 50"
	probe := "echo $(id -u):$(id -g):$(id -G)"

	h.send(1, map[string]any{"op": "command_start", "command_id": "cmd-user", "argv": []string{"/bin/sh", "-c", probe}, "cwd": "/", "user": user})
	if o := h.collect(1, 10*time.Second); o.final["type"] != "result" {
		t.Fatalf("command_start: %v", o.final)
	}
	h.send(2, map[string]any{"op": "command_read", "command_id": "cmd-user", "cursor": 0, "wait_ms": 10_000})
	o := h.collect(2, 15*time.Second)
	if out, _ := base64.StdEncoding.DecodeString(o.final["output_b64"].(string)); string(out) != want+"\n" {
		t.Fatalf("command ran as %q, want %q", out, want)
	}

	h.send(3, map[string]any{"op": "service_start", "name": "who", "argv": []string{"/bin/sh", "-c", probe + "; sleep 30"}, "cwd": "/", "user": user})
	if o := h.collect(3, 10*time.Second); o.final["type"] != "result" {
		t.Fatalf("service_start: %v", o.final)
	}
	var logs any
	for stream := uint32(4); stream < 40; stream++ {
		h.send(stream, map[string]any{"op": "service_logs", "name": "who"})
		if logs = h.collect(stream, 5*time.Second).final["stdout"]; logs == want+"\n" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if logs != want+"\n" {
		t.Fatalf("service ran as %q, want %q", logs, want)
	}

	h.send(40, map[string]any{"op": "shell_open", "cwd": "/", "cols": 80, "rows": 24, "user": user})
	id, _ := h.collect(40, 5*time.Second).final["shell_id"].(string)
	if id == "" {
		t.Fatal("shell_open failed")
	}
	h.send(41, map[string]any{"op": "shell_write", "shell_id": id, "input_b64": base64.StdEncoding.EncodeToString([]byte("echo \"as=$(id -u):$(id -g):$(id -G)\"\n"))})
	h.collect(41, 5*time.Second)
	var seen string
	for stream := uint32(42); stream < 100 && !strings.Contains(seen, "as="+want); stream++ {
		time.Sleep(50 * time.Millisecond)
		h.send(stream, map[string]any{"op": "shell_read", "shell_id": id, "cursor": 0})
		data, _ := base64.StdEncoding.DecodeString(h.collect(stream, 5*time.Second).final["output_b64"].(string))
		seen = string(data)
	}
	if !strings.Contains(seen, "as="+want) {
		t.Fatalf("shell output %q, want as=%s", seen, want)
	}
}
