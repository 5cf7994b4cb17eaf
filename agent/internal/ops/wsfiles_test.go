package ops

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The file ops over a real session: frames in, frames out.
func TestFileOpsOverASession(t *testing.T) {
	h, hello := newHost(t)
	if !strings.Contains(toJSON(t, hello["capabilities"]), `"files.ops"`) {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	root := t.TempDir()

	h.send(1, map[string]any{"op": "file_write", "root": root, "path": "d/a.txt", "max_bytes": 5})
	h.stdin(1, "hello")
	h.stdin(1, "")
	if o := h.collect(1, 5*time.Second); o.final["type"] != "result" || o.final["bytes_written"] != float64(5) || o.final["created"] != true {
		t.Fatalf("file_write: %v", o.final)
	}

	// Over max_bytes: a limit error, and the file keeps its content.
	h.send(2, map[string]any{"op": "file_write", "root": root, "path": "d/a.txt", "max_bytes": 3})
	h.stdin(2, "longer")
	h.stdin(2, "")
	if o := h.collect(2, 5*time.Second); o.final["type"] != "error" || o.final["code"] != "limit" {
		t.Fatalf("file_write over the limit: %v", o.final)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "d/a.txt")); string(got) != "hello" {
		t.Fatalf("after a refused write: %q", got)
	}

	h.send(3, map[string]any{"op": "file_read", "root": root, "path": "d/a.txt", "max_bytes": 4})
	if o := h.collect(3, 5*time.Second); string(o.stdout) != "hell" || o.final["truncated"] != true || o.final["size_bytes"] != float64(5) || o.final["bytes_read"] != float64(4) {
		t.Fatalf("file_read: %q %v", o.stdout, o.final)
	}

	h.send(4, map[string]any{"op": "file_read", "root": root, "path": "../etc/passwd", "max_bytes": 4})
	if o := h.collect(4, 5*time.Second); o.final["code"] != "bad_request" || len(o.stdout) != 0 {
		t.Fatalf("file_read ..: %v", o.final)
	}

	h.send(5, map[string]any{"op": "file_list", "root": root, "path": "", "recursive": true})
	if o := h.collect(5, 5*time.Second); o.final["type"] != "result" || !strings.Contains(toJSON(t, o.final["entries"]), `"path":"d/a.txt"`) {
		t.Fatalf("file_list: %v", o.final)
	}

	// file_apply: the contents of the write changes follow each other on STDIN.
	changes := []map[string]any{
		{"path": "d/a.txt", "action": "write", "size": 3, "expect": map[string]any{"size": 5, "crc32": crc32.ChecksumIEEE([]byte("hello"))}},
		{"path": "b.txt", "action": "write", "size": 2, "expect": nil},
	}
	h.send(6, map[string]any{"op": "file_apply", "root": root, "changes": changes})
	h.stdin(6, "new")
	h.stdin(6, "bb")
	h.stdin(6, "")
	if o := h.collect(6, 5*time.Second); o.final["type"] != "result" || o.final["changes"] != float64(2) {
		t.Fatalf("file_apply: %v", o.final)
	}
	a, _ := os.ReadFile(filepath.Join(root, "d/a.txt"))
	b, _ := os.ReadFile(filepath.Join(root, "b.txt"))
	if string(a) != "new" || string(b) != "bb" {
		t.Fatalf("after file_apply: %q %q", a, b)
	}
}
