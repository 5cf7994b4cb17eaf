package services

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/probe"
)

// The test binary doubles as a service: PYRO_TEST_SERVE=tcp|http ADDR.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PYRO_TEST_SERVE"); mode != "" {
		serve(mode, os.Getenv("PYRO_TEST_ADDR"))
		return
	}
	os.Exit(m.Run())
}

func serve(mode, addr string) {
	time.Sleep(200 * time.Millisecond) // not ready at once
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", addr)
	if mode == "http" {
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newManager(t *testing.T) *Manager {
	m := NewManager(Config{BaseDir: filepath.Join(t.TempDir(), "pyro-services")})
	t.Cleanup(func() { m.StopAll(100 * time.Millisecond) })
	return m
}

func start(t *testing.T, m *Manager, req StartRequest) State {
	t.Helper()
	if req.ReadyInterval == 0 {
		req.ReadyInterval = 20 * time.Millisecond
	}
	if req.ReadyTimeout == 0 {
		req.ReadyTimeout = 10 * time.Second
	}
	st, err := m.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestReadinessKinds(t *testing.T) {
	m := newManager(t)
	cwd := t.TempDir()
	tcpAddr, httpAddr := freeAddr(t), freeAddr(t)
	self, _ := os.Executable()
	cases := []StartRequest{
		{Name: "file", Argv: sh("sleep 0.2; touch ready; exec sleep 100"), Cwd: cwd,
			Readiness: &probe.Readiness{Kind: probe.KindFile, Path: "ready"}},
		{Name: "tcp", Argv: []string{self}, Env: map[string]string{"PYRO_TEST_SERVE": "tcp", "PYRO_TEST_ADDR": tcpAddr},
			Readiness: &probe.Readiness{Kind: probe.KindTCP, Address: tcpAddr}},
		{Name: "http", Argv: []string{self}, Env: map[string]string{"PYRO_TEST_SERVE": "http", "PYRO_TEST_ADDR": httpAddr},
			Readiness: &probe.Readiness{Kind: probe.KindHTTP, URL: "http://" + httpAddr + "/"}},
		{Name: "command", Argv: sh("sleep 0.2; echo up > state; exec sleep 100"), Cwd: cwd, Env: map[string]string{"WANT": "up"},
			Readiness: &probe.Readiness{Kind: probe.KindCommand, Command: `test "$(cat state 2>/dev/null)" = "$WANT"`}},
	}
	for _, req := range cases {
		st := start(t, m, req)
		if st.State != StateReady || !st.Readiness.Ready || st.PID <= 0 || st.ExitCode != nil || st.EndedAt != nil {
			t.Fatalf("%s: %+v %+v", req.Name, st, st.Readiness)
		}
	}
	if list := m.List(); len(list) != 4 || list[0].Name != "command" || list[3].Name != "tcp" {
		t.Fatalf("list %+v", list)
	}
	logs, err := m.Logs("tcp", 0)
	if err != nil || logs.Stdout != "listening on "+tcpAddr+"\n" {
		t.Fatalf("logs %+v %v", logs, err)
	}
	// The state as JSON has the protocol's fields.
	st, _ := m.Status("file")
	b, _ := json.Marshal(st)
	for _, field := range []string{`"state":"ready"`, `"exit_code":null`, `"ended_at":null`, `"kind":"file"`, `"path":"ready"`, `"ready":true`, `"detail":`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("%s lacks %s", b, field)
		}
	}
	// Metadata lives beside the logs.
	var meta map[string]any
	raw, _ := os.ReadFile(filepath.Join(m.cfg.BaseDir, "file", "service.json"))
	if err := json.Unmarshal(raw, &meta); err != nil || meta["state"] != "ready" || meta["cwd"] != cwd {
		t.Fatalf("metadata %s %v", raw, err)
	}
}

func TestReadinessTimeoutFails(t *testing.T) {
	m := newManager(t)
	start0 := time.Now()
	st := start(t, m, StartRequest{Name: "slow", Argv: sh("exec sleep 100"), Cwd: t.TempDir(),
		Readiness: &probe.Readiness{Kind: probe.KindFile, Path: "never"}, ReadyTimeout: 300 * time.Millisecond})
	if st.State != StateFailed || st.Readiness.Ready || !strings.Contains(st.Readiness.Detail, "does not exist") {
		t.Fatalf("%+v %+v", st, st.Readiness)
	}
	if st.ExitCode == nil || *st.ExitCode != 128+int(syscall.SIGTERM) || time.Since(start0) > 5*time.Second {
		t.Fatalf("not stopped after failing: %v", st.ExitCode)
	}
	if err := syscall.Kill(st.PID, 0); err == nil {
		t.Fatal("process still alive")
	}
	// The name is free again.
	st = start(t, m, StartRequest{Name: "slow", Argv: sh("exec sleep 100")})
	if st.State != StateRunning {
		t.Fatalf("%+v", st)
	}
}

func TestExitBeforeReady(t *testing.T) {
	m := newManager(t)
	start0 := time.Now()
	st := start(t, m, StartRequest{Name: "crash", Argv: sh("echo boom >&2; exit 4"),
		Readiness: &probe.Readiness{Kind: probe.KindTCP, Address: freeAddr(t)}})
	if st.State != StateFailed || st.ExitCode == nil || *st.ExitCode != 4 || time.Since(start0) > 5*time.Second {
		t.Fatalf("%+v", st)
	}
	if !strings.Contains(st.Readiness.Detail, "exit code 4") {
		t.Fatalf("detail %q", st.Readiness.Detail)
	}
	logs, _ := m.Logs("crash", 10)
	if logs.Stderr != "boom\n" {
		t.Fatalf("logs %+v", logs)
	}
}

func waitState(t *testing.T, m *Manager, name, want string) State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := m.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed %s, want %s", name, st.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExitedIsNotRestartedAndDuplicates(t *testing.T) {
	m := newManager(t)
	st := start(t, m, StartRequest{Name: "job", Argv: sh("echo run; sleep 0.3; exit 2")})
	if st.State != StateRunning {
		t.Fatalf("%+v", st)
	}
	if _, err := m.Start(context.Background(), StartRequest{Name: "job", Argv: sh("true")}); !agenterr.Is(err, agenterr.Exists) {
		t.Fatalf("duplicate: %v", err)
	}
	st = waitState(t, m, "job", StateExited)
	if st.ExitCode == nil || *st.ExitCode != 2 || st.EndedAt == nil || st.EndedAt.Before(st.StartedAt) {
		t.Fatalf("%+v", st)
	}
	time.Sleep(300 * time.Millisecond)
	if st2, _ := m.Status("job"); st2.State != StateExited || st2.PID != st.PID || *st2.ExitCode != 2 {
		t.Fatalf("restarted? %+v", st2)
	}
	// Stopping an exited service changes nothing.
	if st2, err := m.Stop("job", time.Second); err != nil || st2.State != StateExited {
		t.Fatalf("%+v %v", st2, err)
	}
	// Starting it again appends to its logs.
	start(t, m, StartRequest{Name: "job", Argv: sh("echo again")})
	waitState(t, m, "job", StateExited)
	logs, _ := m.Logs("job", 0)
	if logs.Stdout != "run\nagain\n" {
		t.Fatalf("logs %q", logs.Stdout)
	}
}

func TestStopWithGrace(t *testing.T) {
	m := newManager(t)
	start(t, m, StartRequest{Name: "polite", Argv: sh(`trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`)})
	stubborn := start(t, m, StartRequest{Name: "stubborn", Argv: sh(`trap '' TERM; sleep 100 & echo up; while :; do sleep 0.05; done`)})
	time.Sleep(200 * time.Millisecond) // let the traps be set

	st, err := m.Stop("polite", 5*time.Second)
	if err != nil || st.State != StateStopped || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	if logs, _ := m.Logs("polite", 0); logs.Stdout != "up\nbye\n" {
		t.Fatalf("logs %q", logs.Stdout)
	}

	start0 := time.Now()
	st, err = m.Stop("stubborn", 300*time.Millisecond)
	took := time.Since(start0)
	if err != nil || st.State != StateStopped || st.ExitCode == nil || *st.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("%+v %v", st, err)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("stop took %v", took)
	}
	// The background child of the group is gone too (at most a zombie
	// waiting for whoever reaps orphans here).
	time.Sleep(100 * time.Millisecond)
	if live := liveGroupMembers(stubborn.PID); len(live) > 0 {
		t.Fatalf("process group still has members: %v", live)
	}
}

func TestLogsTail(t *testing.T) {
	m := newManager(t)
	start(t, m, StartRequest{Name: "chatty", Argv: sh(`i=1; while [ $i -le 500 ]; do echo "line $i"; i=$((i+1)); done; echo oops >&2; printf partial`)})
	waitState(t, m, "chatty", StateExited)
	logs, err := m.Logs("chatty", 3)
	if err != nil || logs.Stdout != "line 499\nline 500\npartial" || logs.Stderr != "oops\n" {
		t.Fatalf("%q %q %v", logs.Stdout, logs.Stderr, err)
	}
	logs, _ = m.Logs("chatty", 0)
	if n := strings.Count(logs.Stdout, "\n"); n != DefaultTailLines-1 || !strings.HasPrefix(logs.Stdout, "line 302\n") {
		t.Fatalf("default tail: %d lines, starts %q", n, logs.Stdout[:10])
	}
	// The byte bound wins over the line count and never returns a cut line.
	m.cfg.MaxTailBytes = 100
	logs, _ = m.Logs("chatty", 1000)
	if len(logs.Stdout) > 100 || !strings.HasPrefix(logs.Stdout, "line ") || !strings.HasSuffix(logs.Stdout, "partial") {
		t.Fatalf("bounded tail %q", logs.Stdout)
	}
}

func TestErrors(t *testing.T) {
	m := newManager(t)
	for _, name := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("a", 65)} {
		if _, err := m.Start(context.Background(), StartRequest{Name: name, Argv: sh("true")}); !agenterr.Is(err, agenterr.BadRequest) {
			t.Fatalf("%q: %v", name, err)
		}
	}
	if _, err := m.Start(context.Background(), StartRequest{Name: "x"}); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
	if _, err := m.Start(context.Background(), StartRequest{Name: "x", Argv: []string{"no-such-binary-anywhere"}}); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
	if _, err := m.Status("x"); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatalf("failed launch left a record: %v", err)
	}
	// A missing working directory is named as such, not as a missing /bin/sh.
	missing := filepath.Join(t.TempDir(), "nonexistent")
	_, err := m.Start(context.Background(), StartRequest{Name: "x", Argv: sh("true"), Cwd: missing})
	if !agenterr.Is(err, agenterr.NotFound) || !strings.Contains(err.Error(), "working directory "+missing+" does not exist") {
		t.Fatalf("missing cwd: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := m.Start(context.Background(), StartRequest{Name: "x", Argv: sh("true"), Cwd: file}); !agenterr.Is(err, agenterr.BadRequest) || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("file cwd: %v", err)
	}
	if _, err := m.Status("x"); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatalf("refused cwd left a record: %v", err)
	}
	if _, err := m.Start(context.Background(), StartRequest{Name: "x", Argv: sh("true"), Readiness: &probe.Readiness{Kind: "vibes"}}); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
	for _, f := range []func() error{
		func() error { _, err := m.Status("nope"); return err },
		func() error { _, err := m.Logs("nope", 1); return err },
		func() error { _, err := m.Stop("nope", 0); return err },
	} {
		if err := f(); !agenterr.Is(err, agenterr.NotFound) {
			t.Fatal(err)
		}
	}
}

func TestCustomWaiterAndPathLookup(t *testing.T) {
	var calls atomic.Int32
	m := NewManager(Config{BaseDir: t.TempDir(), BaseEnv: []string{"PATH=/nonexistent:/usr/bin:/bin"},
		WaitPID: func(pid int) (syscall.WaitStatus, error) {
			calls.Add(1)
			var ws syscall.WaitStatus
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			return ws, err
		}})
	t.Cleanup(func() { m.StopAll(100 * time.Millisecond) })
	st := start(t, m, StartRequest{Name: "w", Argv: []string{"sh", "-c", "sleep 0.1; touch " + t.TempDir() + "/x; exit 9"},
		Readiness: &probe.Readiness{Kind: probe.KindCommand, Command: "exit 0"}})
	if st.State != StateReady {
		t.Fatalf("%+v", st)
	}
	st = waitState(t, m, "w", StateExited)
	if *st.ExitCode != 9 || calls.Load() != 2 { // the service and one readiness check
		t.Fatalf("code %d, %d waiter calls", *st.ExitCode, calls.Load())
	}
}

// liveGroupMembers lists non-zombie processes in process group pgid.
func liveGroupMembers(pgid int) []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var live []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 2 && fields[2] == fmt.Sprint(pgid) && fields[0] != "Z" {
			live = append(live, p)
		}
	}
	return live
}

func TestValidNameShape(t *testing.T) {
	for _, ok := range []string{"a", "9", "web-1", "a.b_c", "A" + strings.Repeat("-", 63)} {
		if !validName(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "_a", "a b", "a/b", "a\n", "é", "A" + strings.Repeat("-", 64)} {
		if validName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
