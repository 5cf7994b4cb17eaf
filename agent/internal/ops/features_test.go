package ops

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArchiveRoundTrip(t *testing.T) {
	h, hello := newHost(t)
	if !strings.Contains(toJSON(t, hello["capabilities"]), `"files.tar"`) {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	dest := filepath.Join(t.TempDir(), "ws")
	raw := tarOf(t, map[string]string{"a.txt": "alpha", "sub/b.txt": strings.Repeat("b", 300_000)})
	h.send(1, map[string]any{"op": "put_archive", "dest": dest, "max_bytes": 1 << 20})
	for i := 0; i < len(raw); i += 100_000 {
		h.stdin(1, string(raw[i:min(i+100_000, len(raw))]))
	}
	h.stdin(1, "")
	o := h.collect(1, 10*time.Second)
	if o.final["type"] != "result" || o.final["entries"] != float64(2) || o.final["bytes"] != float64(300_005) {
		t.Fatalf("put_archive: %v", o.final)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "sub/b.txt")); len(got) != 300_000 {
		t.Fatalf("extracted %d bytes", len(got))
	}

	h.send(2, map[string]any{"op": "get_archive", "path": dest, "max_bytes": 1 << 20})
	o = h.collect(2, 10*time.Second)
	if o.final["type"] != "result" || o.final["kind"] != "directory" {
		t.Fatalf("get_archive: %v", o.final)
	}
	names := map[string]int{}
	tr := tar.NewReader(bytes.NewReader(o.stdout))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, tr)
		names[hdr.Name] = int(n)
	}
	if names["ws/a.txt"] != 5 || names["ws/sub/b.txt"] != 300_000 {
		t.Fatalf("archive entries %v", names)
	}

	// Hostile names are refused; over-limit contents too.
	h.send(3, map[string]any{"op": "put_archive", "dest": dest})
	h.stdin(3, string(tarOf(t, map[string]string{"../escape": "x"})))
	h.stdin(3, "")
	if o := h.collect(3, 10*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("escape: %v", o.final)
	}
	h.send(4, map[string]any{"op": "put_archive", "dest": dest, "max_bytes": 10})
	h.stdin(4, string(tarOf(t, map[string]string{"big": strings.Repeat("x", 100)})))
	h.stdin(4, "")
	if o := h.collect(4, 10*time.Second); o.final["code"] != "limit" {
		t.Fatalf("limit: %v", o.final)
	}
	h.send(5, map[string]any{"op": "get_archive", "path": "/no/such/path"})
	if o := h.collect(5, 10*time.Second); o.final["code"] != "not_found" {
		t.Fatalf("missing: %v", o.final)
	}
}

func TestSecretsShellsServicesProbe(t *testing.T) {
	h, _ := newHost(t)
	h.send(1, map[string]any{"op": "secrets_put", "files": map[string]string{"API_KEY": base64.StdEncoding.EncodeToString([]byte("s3cr3t"))}})
	if o := h.collect(1, 5*time.Second); o.final["count"] != float64(1) {
		t.Fatalf("secrets_put: %v", o.final)
	}
	h.send(2, map[string]any{"op": "secrets_put", "files": map[string]string{"bad name": ""}})
	if o := h.collect(2, 5*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("bad secret: %v", o.final)
	}

	h.send(3, map[string]any{"op": "shell_open", "cwd": "/tmp", "cols": 80, "rows": 24})
	o := h.collect(3, 5*time.Second)
	id, _ := o.final["shell_id"].(string)
	if id == "" {
		t.Fatalf("shell_open: %v", o.final)
	}
	h.send(4, map[string]any{"op": "shell_write", "shell_id": id, "input_b64": base64.StdEncoding.EncodeToString([]byte("echo marker-$((6*7))\n"))})
	if o := h.collect(4, 5*time.Second); o.final["type"] != "result" {
		t.Fatalf("shell_write: %v", o.final)
	}
	var seen string
	for stream := uint32(5); stream < 60 && !strings.Contains(seen, "marker-42"); stream++ {
		time.Sleep(50 * time.Millisecond)
		h.send(stream, map[string]any{"op": "shell_read", "shell_id": id, "cursor": 0})
		o := h.collect(stream, 5*time.Second)
		data, _ := base64.StdEncoding.DecodeString(o.final["output_b64"].(string))
		seen = string(data)
	}
	if !strings.Contains(seen, "marker-42") {
		t.Fatalf("shell output %q", seen)
	}
	h.send(60, map[string]any{"op": "shell_close", "shell_id": id})
	if o := h.collect(60, 10*time.Second); o.final["type"] != "result" {
		t.Fatalf("shell_close: %v", o.final)
	}

	marker := filepath.Join(t.TempDir(), "ready")
	h.send(61, map[string]any{"op": "service_start", "name": "web", "argv": []string{"sh", "-c", "echo up; touch " + marker + "; sleep 30"},
		"cwd": "/tmp", "readiness": map[string]any{"kind": "file", "path": marker}, "ready_timeout_ms": 5000, "ready_interval_ms": 50})
	if o := h.collect(61, 10*time.Second); o.final["state"] != "ready" {
		t.Fatalf("service_start: %v", o.final)
	}
	h.send(62, map[string]any{"op": "service_list"})
	if o := h.collect(62, 5*time.Second); !strings.Contains(toJSON(t, o.final["services"]), `"web"`) {
		t.Fatalf("service_list: %v", o.final)
	}
	h.send(63, map[string]any{"op": "service_logs", "name": "web"})
	if o := h.collect(63, 5*time.Second); o.final["stdout"] != "up\n" {
		t.Fatalf("service_logs: %v", o.final)
	}
	h.send(64, map[string]any{"op": "service_stop", "name": "web", "grace_ms": 1000})
	if o := h.collect(64, 10*time.Second); o.final["state"] != "stopped" {
		t.Fatalf("service_stop: %v", o.final)
	}
	h.send(65, map[string]any{"op": "service_status", "name": "nope"})
	if o := h.collect(65, 5*time.Second); o.final["code"] != "not_found" {
		t.Fatalf("service_status: %v", o.final)
	}

	h.send(66, map[string]any{"op": "probe", "readiness": map[string]any{"kind": "command", "command": "true"}, "timeout_ms": 2000})
	if o := h.collect(66, 5*time.Second); o.final["ready"] != true {
		t.Fatalf("probe: %v", o.final)
	}
	h.send(67, map[string]any{"op": "probe", "readiness": map[string]any{"kind": "tcp", "address": "127.0.0.1:1"}, "timeout_ms": 300, "interval_ms": 100})
	if o := h.collect(67, 5*time.Second); o.final["ready"] != false {
		t.Fatalf("probe of a closed port: %v", o.final)
	}
	h.send(68, map[string]any{"op": "probe", "readiness": map[string]any{"kind": "nonsense"}})
	if o := h.collect(68, 5*time.Second); o.final["code"] != "bad_request" {
		t.Fatalf("bad probe: %v", o.final)
	}
}
