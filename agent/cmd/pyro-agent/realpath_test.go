package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRealpathMissing(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "ws", "sub"), 0o755))
	must(os.Symlink("/etc", filepath.Join(dir, "ws", "out")))
	must(os.Symlink("sub", filepath.Join(dir, "ws", "in")))
	cases := map[string]string{
		filepath.Join(dir, "ws", "in", "x", "y"):       filepath.Join(dir, "ws", "sub", "x", "y"),
		filepath.Join(dir, "ws", "out", "passwd"):      "/etc/passwd",
		filepath.Join(dir, "ws", "missing", "..", "a"): filepath.Join(dir, "ws", "a"),
		filepath.Join(dir, "ws", "sub") + "/":          filepath.Join(dir, "ws", "sub"),
	}
	for input, want := range cases {
		got, err := realpathMissing(input)
		if err != nil || got != want {
			t.Errorf("realpathMissing(%q) = %q, %v; want %q", input, got, err, want)
		}
	}
	if _, err := realpathMissing("relative"); err == nil {
		t.Error("a relative path must be refused")
	}
}
