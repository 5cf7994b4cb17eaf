package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
)

func wait(t *testing.T, p *Prober, r Readiness, timeout time.Duration) (bool, string) {
	t.Helper()
	ok, detail, err := p.Wait(context.Background(), r, timeout, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return ok, detail
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	p := &Prober{Cwd: dir}
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
	}()
	if ok, detail := wait(t, p, Readiness{Kind: KindFile, Path: "ready"}, 5*time.Second); !ok {
		t.Fatal(detail)
	}
	ok, detail := wait(t, p, Readiness{Kind: KindFile, Path: "never"}, 100*time.Millisecond)
	if ok || !strings.Contains(detail, "does not exist") || !strings.Contains(detail, "timed out") {
		t.Fatalf("%v %q", ok, detail)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindTCP, Address: addr}, time.Second); !ok {
		t.Fatal(detail)
	}
	ln.Close()
	ok, detail := wait(t, &Prober{}, Readiness{Kind: KindTCP, Address: addr}, 100*time.Millisecond)
	if ok || !strings.Contains(detail, "refused") {
		t.Fatalf("%v %q", ok, detail)
	}
}

func TestHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/warming":
			if hits.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte("ok"))
		case "/redirect":
			http.Redirect(w, r, "/nowhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindHTTP, URL: srv.URL + "/warming"}, 5*time.Second); !ok || !strings.Contains(detail, "200") {
		t.Fatalf("%v %q", ok, detail)
	}
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindHTTP, URL: srv.URL + "/redirect"}, time.Second); !ok || !strings.Contains(detail, "302") {
		t.Fatalf("%v %q", ok, detail)
	}
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindHTTP, URL: srv.URL + "/broken"}, 100*time.Millisecond); ok || !strings.Contains(detail, "500") {
		t.Fatalf("%v %q", ok, detail)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindHTTP, URL: srv.URL + "/"}, 5*time.Second); !ok || !strings.Contains(detail, "TLS handshake") {
		t.Fatalf("%v %q", ok, detail)
	}
	// A plain HTTP server on an https URL is not ready.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	url := "https://" + strings.TrimPrefix(plain.URL, "http://")
	if ok, detail := wait(t, &Prober{}, Readiness{Kind: KindHTTP, URL: url}, 200*time.Millisecond); ok {
		t.Fatalf("%v %q", ok, detail)
	}
}

func TestHTTPRawServers(t *testing.T) {
	serve := func(answer string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					buf := make([]byte, 4096)
					_, _ = c.Read(buf)
					_, _ = c.Write([]byte(answer))
				}()
			}
		}()
		return "http://" + ln.Addr().String() + "/x?y=1"
	}
	cases := []struct {
		answer string
		ready  bool
		want   string
	}{
		{"HTTP/1.0 204 No Content\r\n\r\n", true, "answered 204 No Content"},
		{"HTTP/1.1 301\r\n", true, "answered 301"},
		{"HTTP/1.1 404 Not Found\r\n", false, "answered 404 Not Found"},
		{"SSH-2.0-OpenSSH\r\n", false, "malformed status line"},
		{"", false, "closed before a response"},
		{strings.Repeat("x", 10000), false, "too long"},
	}
	for _, c := range cases {
		ok, detail := (&Prober{}).Check(context.Background(), Readiness{Kind: KindHTTP, URL: serve(c.answer)})
		if ok != c.ready || !strings.Contains(detail, c.want) {
			t.Errorf("%q: %v %q", c.answer, ok, detail)
		}
	}
}

func TestHTTPRequest(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.Host + " " + r.URL.RequestURI()
	}))
	defer srv.Close()
	if ok, detail := (&Prober{}).Check(context.Background(), Readiness{Kind: KindHTTP, URL: srv.URL + "/a%20b?q=1"}); !ok {
		t.Fatal(detail)
	}
	if want := "GET " + strings.TrimPrefix(srv.URL, "http://") + " /a%20b?q=1"; <-got != want {
		t.Fatalf("want %q", want)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	p := &Prober{Cwd: dir, Env: []string{"PATH=/usr/bin:/bin", "GREETING=hi"}}
	if ok, detail := wait(t, p, Readiness{Kind: KindCommand, Command: `test "$GREETING" = hi && test "$(pwd)" = "` + dir + `"`}, time.Second); !ok {
		t.Fatal(detail)
	}
	ok, detail := wait(t, p, Readiness{Kind: KindCommand, Command: "echo not yet >&2; exit 3"}, time.Second)
	if ok || !strings.Contains(detail, "exited 3: not yet") {
		t.Fatalf("%q", detail)
	}
}

func TestCommandAttemptTimeout(t *testing.T) {
	p := &Prober{AttemptTimeout: 100 * time.Millisecond}
	start := time.Now()
	ok, detail := wait(t, p, Readiness{Kind: KindCommand, Command: "sleep 100"}, 300*time.Millisecond)
	if ok || !strings.Contains(detail, "timed out") || time.Since(start) > 3*time.Second {
		t.Fatalf("%v %q after %v", ok, detail, time.Since(start))
	}
}

func TestCustomWaiter(t *testing.T) {
	var calls atomic.Int32
	p := &Prober{WaitPID: func(pid int) (syscall.WaitStatus, error) {
		calls.Add(1)
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		return ws, err
	}}
	if ok, detail := wait(t, p, Readiness{Kind: KindCommand, Command: "true"}, time.Second); !ok {
		t.Fatal(detail)
	}
	ok, detail := wait(t, p, Readiness{Kind: KindCommand, Command: "exit 7"}, 500*time.Millisecond)
	if ok || !strings.Contains(detail, "exited 7") || calls.Load() < 2 {
		t.Fatalf("%q, %d calls", detail, calls.Load())
	}
}

func TestInvalid(t *testing.T) {
	for _, r := range []Readiness{{Kind: "smoke"}, {Kind: KindFile}, {Kind: KindTCP}, {Kind: KindHTTP, URL: "ftp://x"}, {Kind: KindCommand}} {
		_, _, err := Wait(context.Background(), r, time.Second, 0)
		if !agenterr.Is(err, agenterr.BadRequest) {
			t.Fatalf("%+v: %v", r, err)
		}
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	ok, detail, err := Wait(ctx, Readiness{Kind: KindFile, Path: "/nonexistent/x"}, time.Minute, 10*time.Millisecond)
	if ok || err != nil || !strings.Contains(detail, "canceled") {
		t.Fatalf("%v %q %v", ok, detail, err)
	}
}
