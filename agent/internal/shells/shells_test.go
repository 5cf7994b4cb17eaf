package shells

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
)

// reader follows one shell's output across separate Read calls.
type reader struct {
	t      *testing.T
	m      *Manager
	id     string
	cursor int64
	seen   bytes.Buffer
}

// until reads until the output since the last match contains want.
func (r *reader) until(want string, timeout time.Duration) ReadResult {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res, err := r.m.Read(r.id, r.cursor, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		r.cursor = res.NextCursor
		r.seen.Write(res.Data)
		if i := strings.Index(r.seen.String(), want); i >= 0 {
			rest := r.seen.String()[i+len(want):]
			r.seen.Reset()
			r.seen.WriteString(rest)
			return res
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %q in output after %v; got %q", want, timeout, tail(r.seen.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string) string {
	if len(s) > 500 {
		return s[len(s)-500:]
	}
	return s
}

func open(t *testing.T, m *Manager, opts OpenOptions) *reader {
	t.Helper()
	id, pid, err := m.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 12 || pid <= 0 {
		t.Fatalf("id %q pid %d", id, pid)
	}
	t.Cleanup(func() { m.Close(id) })
	return &reader{t: t, m: m, id: id}
}

func (r *reader) write(s string) {
	r.t.Helper()
	if n, err := r.m.Write(r.id, []byte(s)); err != nil || n != len(s) {
		r.t.Fatalf("write %d: %v", n, err)
	}
}

func TestStateAcrossReads(t *testing.T) {
	m := NewManager(Config{})
	r := open(t, m, OpenOptions{Cwd: "/", Env: map[string]string{"FROM_OPEN": "opened"}})
	r.write("cd /tmp\n")
	r.write("MYVAR=hello-$((40+2))\n")
	r.write(`echo "pwd=$(pwd) var=$MYVAR term=$TERM from=$FROM_OPEN"` + "\n")
	res := r.until("pwd=/tmp var=hello-42 term=xterm-256color from=opened", 10*time.Second)
	if !res.Alive || res.ExitCode != nil {
		t.Fatalf("state %+v", res)
	}
	// A later, separate read sees the same shell state.
	r.write(`echo "again=$MYVAR in $(pwd)"` + "\n")
	r.until("again=hello-42 in /tmp", 10*time.Second)
	// Reading from 0 again replays the history.
	res, err := m.Read(r.id, 0, 1<<20)
	if err != nil || !bytes.Contains(res.Data, []byte("var=hello-42")) || res.Cursor != 0 || res.Dropped != 0 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// Small max_bytes pages through the output.
	res, _ = m.Read(r.id, 0, 3)
	if len(res.Data) != 3 || res.NextCursor != 3 {
		t.Fatalf("page: %+v", res)
	}
}

func TestInterruptKeepsShell(t *testing.T) {
	m := NewManager(Config{})
	r := open(t, m, OpenOptions{})
	r.write("sleep 100; echo sleep-status-$?\n")
	s, _ := m.get(r.id)
	deadline := time.Now().Add(10 * time.Second)
	for { // wait until sleep is the foreground job: bash hands over the terminal before the child execs
		if pgrp, err := foregroundGroup(s.master); err == nil && pgrp != s.pid {
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pgrp)); err == nil && strings.TrimSpace(string(comm)) == "sleep" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("sleep never became the foreground job")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := m.Signal(r.id, "INT"); err != nil {
		t.Fatal(err)
	}
	r.write("echo still-$((1+1))\n")
	r.until("still-2", 10*time.Second)
	if time.Since(start) > 8*time.Second {
		t.Fatal("sleep was not interrupted")
	}
	res, _ := m.Read(r.id, r.cursor, 0)
	if !res.Alive {
		t.Fatal("shell died from INT")
	}
}

func TestFloodDropsOldOutput(t *testing.T) {
	m := NewManager(Config{})
	r := open(t, m, OpenOptions{})
	r.write("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo flood-$((6*7))\n")
	r.until("flood-42", 60*time.Second)
	res, err := m.Read(r.id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped <= 0 || res.Cursor != res.Dropped || res.NextCursor != res.Cursor+100 {
		t.Fatalf("no drop reported: cursor %d next %d dropped %d", res.Cursor, res.NextCursor, res.Dropped)
	}
	if r.cursor-res.Cursor > DefaultBufferSize || r.cursor < 3000000 {
		t.Fatalf("buffer holds %d bytes of %d", r.cursor-res.Cursor, r.cursor)
	}
}

func TestExitAndClose(t *testing.T) {
	m := NewManager(Config{})
	r := open(t, m, OpenOptions{})
	r.write("exit 3\n")
	deadline := time.Now().Add(10 * time.Second)
	var res ReadResult
	for {
		res, _ = m.Read(r.id, 0, 0)
		if !res.Alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("shell did not exit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.ExitCode == nil || *res.ExitCode != 3 {
		t.Fatalf("exit code %v", res.ExitCode)
	}
	if _, err := m.Write(r.id, []byte("x")); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatalf("write to dead shell: %v", err)
	}
	code, err := m.Close(r.id)
	if err != nil || code == nil || *code != 3 {
		t.Fatalf("close: %v %v", code, err)
	}
	if _, err := m.Read(r.id, 0, 0); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatalf("read after close: %v", err)
	}

	// Closing a live shell that is busy hangs it up.
	r = open(t, m, OpenOptions{})
	r.write("echo ready-$((2+3)); sleep 100\n")
	r.until("ready-5", 10*time.Second)
	start := time.Now()
	code, err = m.Close(r.id)
	if err != nil || code == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("close live: %v %v after %v", code, err, time.Since(start))
	}
}

func TestErrorsAndResize(t *testing.T) {
	m := NewManager(Config{})
	if _, err := m.Read("nope", 0, 0); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatal(err)
	}
	if err := m.Signal("nope", "INT"); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatal(err)
	}
	if _, err := m.Close("nope"); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatal(err)
	}
	if _, _, err := m.Open(OpenOptions{Cwd: "/nonexistent"}); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
	r := open(t, m, OpenOptions{Cols: 100, Rows: 40})
	if err := m.Signal(r.id, "BOGUS"); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
	r.write("echo size=$(stty size)\n")
	r.until("size=40 100", 10*time.Second)
	if err := m.Resize(r.id, 132, 50); err != nil {
		t.Fatal(err)
	}
	r.write("echo size=$(stty size)\n")
	r.until("size=50 132", 10*time.Second)
}

func TestCustomWaiterAndLimit(t *testing.T) {
	var calls atomic.Int32
	m := NewManager(Config{MaxShells: 1, Shell: []string{"/bin/sh", "-i"}, WaitPID: func(pid int) (syscall.WaitStatus, error) {
		calls.Add(1)
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		return ws, err
	}})
	r := open(t, m, OpenOptions{})
	if _, _, err := m.Open(OpenOptions{}); !agenterr.Is(err, agenterr.Limit) {
		t.Fatalf("second shell: %v", err)
	}
	r.write("echo sh-$((1+1)); exit 5\n")
	r.until("sh-2", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, _ := m.Read(r.id, 0, 0); !res.Alive || time.Now().After(deadline) {
			break
		}
	}
	code, err := m.Close(r.id)
	if err != nil || code == nil || *code != 5 || calls.Load() != 1 {
		t.Fatalf("code %v err %v calls %d", code, err, calls.Load())
	}
}
