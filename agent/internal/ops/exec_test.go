package ops

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pyro-mcp/agent/internal/protocol"
)

func TestHello(t *testing.T) {
	_, hello := newHost(t)
	if hello["type"] != "hello" || hello["nonce"] != "n0nce" || hello["protocol_version"] != float64(1) {
		t.Fatalf("hello %v", hello)
	}
	caps, _ := hello["capabilities"].([]any)
	if len(caps) == 0 || caps[0] != "exec" {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	if hello["pid"] != float64(os.Getpid()) || hello["agent_version"] != "test" {
		t.Fatalf("hello %v", hello)
	}
}

func TestPingAndUnknownOp(t *testing.T) {
	h, _ := newHost(t)
	h.send(0, map[string]any{"op": "ping"})
	if f := h.next(0, 5*time.Second); string(f.Payload) != `{"type":"result"}` {
		t.Fatalf("ping: %s", f.Payload)
	}
	h.send(1, map[string]any{"op": "ping"})
	if o := h.collect(1, 5*time.Second); o.final["type"] != "result" {
		t.Fatalf("ping on stream 1: %v", o.final)
	}
	h.send(2, map[string]any{"op": "frobnicate"})
	if o := h.collect(2, 5*time.Second); o.final["type"] != "error" || o.final["code"] != "unsupported" {
		t.Fatalf("unknown op: %v", o.final)
	}
	h.send(3, map[string]any{"op": "exec", "argv": []string{}})
	if o := h.collect(3, 5*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("empty argv: %v", o.final)
	}
	h.send(4, map[string]any{"op": "exec", "argv": []string{"no-such-command-xyz"}})
	if o := h.collect(4, 5*time.Second); o.final["code"] != "not_found" {
		t.Fatalf("missing command: %v", o.final)
	}
	h.send(5, map[string]any{"op": "exec", "argv": []string{"true"}, "cwd": "/no/such/dir"})
	if o := h.collect(5, 5*time.Second); o.final["code"] != "not_found" {
		t.Fatalf("missing cwd: %v", o.final)
	}
}

func TestExecOutputAndExitCodes(t *testing.T) {
	h, _ := newHost(t)
	o := h.exec(1, map[string]any{"argv": []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, "env": map[string]string{"X": "1"}}, 10*time.Second)
	if string(o.stdout) != "out\n" || string(o.stderr) != "err\n" {
		t.Fatalf("stdout %q stderr %q", o.stdout, o.stderr)
	}
	if o.final["exit_code"] != float64(3) || o.final["signal"] != nil || o.final["timed_out"] != false {
		t.Fatalf("result %v", o.final)
	}
	if len(o.events) != 1 || o.events[0]["event"] != "started" || o.events[0]["pid"].(float64) <= 0 {
		t.Fatalf("events %v", o.events)
	}
	o = h.exec(2, map[string]any{"argv": []string{"sh", "-c", "echo $X:$HOME:$PATH; pwd"}, "cwd": "/tmp", "env": map[string]string{"X": "1"}}, 10*time.Second)
	if string(o.stdout) != "1:/root:"+DefaultPath+"\n/tmp\n" {
		t.Fatalf("env: %q", o.stdout)
	}
	o = h.exec(3, map[string]any{"argv": []string{"sh", "-c", "kill -TERM $$"}}, 10*time.Second)
	if o.final["exit_code"] != float64(143) || o.final["signal"] != "TERM" {
		t.Fatalf("killed by TERM: %v", o.final)
	}
}

func TestExecTimeoutKillsChildren(t *testing.T) {
	h, _ := newHost(t)
	start := time.Now()
	o := h.exec(1, map[string]any{"argv": []string{"sh", "-c", "sleep 60 & echo $!; sleep 61; echo never"}, "timeout_ms": 500}, 10*time.Second)
	if o.final["timed_out"] != true || o.final["exit_code"] != float64(124) || o.final["signal"] != "KILL" {
		t.Fatalf("result %v", o.final)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(o.stdout)))
	if err != nil {
		t.Fatalf("stdout %q", o.stdout)
	}
	waitGone(t, child)
}

// waitGone fails unless pid is dead (gone, or a zombie awaiting its reaper).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still alive", pid)
}

func TestExecOutputTruncation(t *testing.T) {
	h, _ := newHost(t)
	o := h.exec(1, map[string]any{"argv": []string{"sh", "-c", "head -c 10000000 /dev/zero; echo tail >&2"}, "max_output_bytes": 1 << 20}, 30*time.Second)
	if len(o.stdout) != 1<<20 || o.final["stdout_truncated"] != true || o.final["stdout_bytes"] != float64(10000000) {
		t.Fatalf("got %d bytes, result %v", len(o.stdout), o.final)
	}
	if string(o.stderr) != "tail\n" || o.final["stderr_truncated"] != false || o.final["exit_code"] != float64(0) {
		t.Fatalf("stderr %q result %v", o.stderr, o.final)
	}
	o = h.exec(2, map[string]any{"argv": []string{"echo", "hi"}, "max_output_bytes": 0}, 10*time.Second)
	if len(o.stdout) != 0 || o.final["stdout_truncated"] != true || o.final["stdout_bytes"] != float64(3) {
		t.Fatalf("max 0: %q %v", o.stdout, o.final)
	}
}

func TestExecSignal(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "exec", "argv": []string{"sleep", "60"}})
	if f := h.next(1, 5*time.Second); !bytes.Contains(f.Payload, []byte(`"started"`)) {
		t.Fatalf("first frame %s", f.Payload)
	}
	h.send(1, map[string]any{"op": "signal", "signal": "INT"})
	o := h.collect(1, 10*time.Second)
	if o.final["exit_code"] != float64(130) || o.final["signal"] != "INT" {
		t.Fatalf("result %v", o.final)
	}
}

func TestExecStdin(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "exec", "argv": []string{"sh", "-c", "tr a-z A-Z; echo done"}, "stdin": true})
	h.stdin(1, "hello ")
	h.stdin(1, "world\n")
	h.stdin(1, "")
	o := h.collect(1, 10*time.Second)
	if string(o.stdout) != "HELLO WORLD\ndone\n" || o.final["exit_code"] != float64(0) {
		t.Fatalf("stdout %q result %v", o.stdout, o.final)
	}
	// Without stdin, the process reads /dev/null and STDIN frames are dropped.
	h.send(2, map[string]any{"op": "exec", "argv": []string{"cat"}})
	h.stdin(2, "ignored")
	if o := h.collect(2, 10*time.Second); len(o.stdout) != 0 || o.final["exit_code"] != float64(0) {
		t.Fatalf("no stdin: %q %v", o.stdout, o.final)
	}
}

func TestExecPty(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "exec", "argv": []string{"sh", "-c", "tty; stty size; echo $TERM; read x; echo got:$x"},
		"stdin": true, "pty": map[string]any{"cols": 100, "rows": 40}})
	h.stdin(1, "abc\n")
	o := h.collect(1, 10*time.Second)
	out := strings.ReplaceAll(string(o.stdout), "\r\n", "\n")
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "40 100\nxterm-256color\n") || !strings.Contains(out, "got:abc") {
		t.Fatalf("pty output %q", out)
	}
	if o.final["exit_code"] != float64(0) || len(o.stderr) != 0 {
		t.Fatalf("result %v", o.final)
	}
}

func TestExecPtyResize(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "exec", "argv": []string{"sh", "-c", "read x; stty size"},
		"stdin": true, "pty": map[string]any{"cols": 80, "rows": 24}})
	h.send(1, map[string]any{"op": "resize", "cols": 132, "rows": 50})
	time.Sleep(100 * time.Millisecond)
	h.stdin(1, "\n")
	o := h.collect(1, 10*time.Second)
	if !strings.Contains(string(o.stdout), "50 132") {
		t.Fatalf("after resize: %q", o.stdout)
	}
}

func TestConcurrentExecs(t *testing.T) {
	h, _ := newHost(t)
	start := time.Now()
	const n = 8
	for i := 1; i <= n; i++ {
		h.send(uint32(i), map[string]any{"op": "exec", "argv": []string{"sh", "-c", "sleep 0.5; echo stream-$N; exit $N"},
			"env": map[string]string{"N": strconv.Itoa(i)}})
	}
	for i := 1; i <= n; i++ {
		o := h.collect(uint32(i), 10*time.Second)
		if string(o.stdout) != "stream-"+strconv.Itoa(i)+"\n" || o.final["exit_code"] != float64(i) {
			t.Fatalf("stream %d: %q %v", i, o.stdout, o.final)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("%d execs of 0.5 s took %s: not concurrent", n, d)
	}
}

func TestBadFrameClosesSession(t *testing.T) {
	for _, raw := range [][]byte{
		{0, 0, 0, 1, 9, 0, 0, 0, 1, 'x'},                      // unknown kind
		{0, 0x10, 0, 1, byte(protocol.KindStdin), 0, 0, 0, 1}, // too large
		append([]byte{0, 0, 0, 2, byte(protocol.KindControl), 0, 0, 0, 1}, "[]"...),
	} {
		h, _ := newHost(t)
		if _, err := h.conn.Write(raw); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-h.served:
			if err == nil {
				t.Fatal("session ended without an error")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("session survived %x", raw)
		}
	}
}

func TestSessionEndKillsExecs(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "exec", "argv": []string{"sleep", "60"}})
	var started struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(h.next(1, 5*time.Second).Payload, &started); err != nil || started.Pid <= 0 {
		t.Fatalf("started event: %v", err)
	}
	h.conn.Close()
	select {
	case <-h.served:
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	waitGone(t, started.Pid)
}

func TestNoDataAfterResult(t *testing.T) {
	h, _ := newHost(t)
	// A background child keeps stdout open; the exec still ends shortly
	// after the shell exits, and nothing follows the result.
	o := h.exec(1, map[string]any{"argv": []string{"sh", "-c", "(sleep 2; echo late) & echo now"}}, 10*time.Second)
	if string(o.stdout) != "now\n" || o.final["exit_code"] != float64(0) {
		t.Fatalf("%q %v", o.stdout, o.final)
	}
	time.Sleep(2500 * time.Millisecond)
	h.mu.Lock()
	left := len(h.frames[1])
	h.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d frames after the result", left)
	}
}
