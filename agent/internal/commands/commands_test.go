package commands

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
)

func start(t *testing.T, m *Manager, id, script string) State {
	t.Helper()
	st, err := m.Start(StartRequest{ID: id, Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"})
	if err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	return st
}

func code(t *testing.T, err error) agenterr.Code {
	t.Helper()
	var ae *agenterr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want an agent error, got %v", err)
	}
	return ae.Code
}

func TestWaitReturnsOutputAndExitOfAFinishedCommand(t *testing.T) {
	m := NewManager(Config{})
	st := start(t, m, "c1", "echo out; echo err >&2; sleep 0.3; echo done; exit 3")
	if st.State != StateRunning || st.Pid <= 0 {
		t.Fatalf("started: %+v", st)
	}
	began := time.Now()
	r, err := m.Read(context.Background(), "c1", 0, 1<<20, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.State.State != StateExited || r.ExitCode == nil || *r.ExitCode != 3 {
		t.Fatalf("state: %+v", r.State)
	}
	if got := string(r.Data); got != "out\nerr\ndone\n" {
		t.Fatalf("stdout and stderr share one log in order: %q", got)
	}
	if r.NextCursor != 13 || r.OutputBytes != 13 {
		t.Fatalf("cursor %d bytes %d", r.NextCursor, r.OutputBytes)
	}
	// A finished command answers a wait at once.
	began = time.Now()
	if _, err := m.Read(context.Background(), "c1", r.NextCursor, 10, 10*time.Second); err != nil || time.Since(began) > time.Second {
		t.Fatalf("wait on a finished command took %v (%v)", time.Since(began), err)
	}
}

func TestWaitTimesOutOnARunningCommandAndKillEndsIt(t *testing.T) {
	m := NewManager(Config{})
	start(t, m, "c2", "echo up; trap 'echo term; exit 9' TERM; while :; do sleep 0.05; done")
	r, err := m.Read(context.Background(), "c2", 0, 100, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.State.State != StateRunning || string(r.Data) != "up\n" {
		t.Fatalf("running: %+v %q", r.State, r.Data)
	}
	st, err := m.Kill("c2", syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateKilled || st.ExitCode == nil || *st.ExitCode != 9 {
		t.Fatalf("killed: %+v", st)
	}
	start(t, m, "c3", "trap '' TERM; echo trapped; sleep 60")
	// TERM must come after the trap is set (a loaded machine may not have run it yet), or it is not ignored.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r, err := m.Read(context.Background(), "c3", 0, 64, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(r.Data), "trapped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never set its TERM trap")
		}
	}
	st, err = m.Kill("c3", syscall.SIGTERM, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateKilled || st.Signal == nil || *st.Signal != "KILL" {
		t.Fatalf("a command that ignores TERM is KILLed: %+v", st)
	}
}

func TestAFloodKeepsOnlyTheBoundedTail(t *testing.T) {
	m := NewManager(Config{BufferSize: 64 << 10})
	start(t, m, "flood", "head -c 20000000 /dev/zero; echo tail-end")
	r, err := m.Read(context.Background(), "flood", 0, 1<<20, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.OutputBytes != 20000009 || r.Dropped != 20000009-(64<<10) || len(r.Data) != 64<<10 {
		t.Fatalf("bytes %d dropped %d kept %d", r.OutputBytes, r.Dropped, len(r.Data))
	}
	if !strings.HasSuffix(string(r.Data), "tail-end\n") {
		t.Fatalf("the tail is kept")
	}
}

func TestBadRequests(t *testing.T) {
	m := NewManager(Config{MaxRunning: 1, MaxKept: 1})
	if _, err := m.Status("nope"); code(t, err) != agenterr.NotFound {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := m.Start(StartRequest{ID: "../x", Path: "/bin/true", Argv: []string{"true"}, Dir: "/"}); code(t, err) != agenterr.BadRequest {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := m.Start(StartRequest{ID: "d", Path: "/bin/true", Argv: []string{"true"}, Dir: "/nonexistent"}); code(t, err) != agenterr.NotFound {
		t.Fatalf("missing cwd: %v", err)
	}
	if _, err := m.Read(context.Background(), "x", -1, 1, 0); code(t, err) != agenterr.BadRequest {
		t.Fatalf("negative cursor: %v", err)
	}
	start(t, m, "a", "sleep 60")
	if _, err := m.Start(StartRequest{ID: "a", Path: "/bin/true", Argv: []string{"true"}, Dir: "/"}); code(t, err) != agenterr.Exists {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := m.Start(StartRequest{ID: "b", Path: "/bin/true", Argv: []string{"true"}, Dir: "/"}); code(t, err) != agenterr.Limit {
		t.Fatalf("too many running: %v", err)
	}
	m.KillAll(time.Second)
	start(t, m, "b", "true")
	if _, err := m.Read(context.Background(), "b", 0, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	start(t, m, "c", "true")
	if len(m.List()) != 2 {
		t.Fatalf("only MaxKept ended commands are remembered: %+v", m.List())
	}
	if _, err := m.Status("a"); code(t, err) != agenterr.NotFound {
		t.Fatalf("the oldest ended command is forgotten: %v", err)
	}
}

func TestAWaitEndsWithItsSession(t *testing.T) {
	m := NewManager(Config{})
	start(t, m, "s", "sleep 30")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	began := time.Now()
	if _, err := m.Read(ctx, "s", 0, 10, 20*time.Second); err != nil || time.Since(began) > 5*time.Second {
		t.Fatalf("wait outlived its session: %v %v", time.Since(began), err)
	}
	m.KillAll(time.Second)
}
