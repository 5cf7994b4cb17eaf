package secrets

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

func TestPutReplacesTheSet(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "pyro-secrets")}
	n, err := s.Put(map[string][]byte{"API_KEY": []byte("k1"), "_token2": []byte("t")})
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	st, _ := os.Stat(s.Dir)
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode())
	}
	st, _ = os.Stat(filepath.Join(s.Dir, "API_KEY"))
	if st.Mode().Perm() != 0o400 {
		t.Fatalf("file mode %v", st.Mode())
	}
	if _, err := s.Put(map[string][]byte{"API_KEY": []byte("k2"), "NEW": nil}); err != nil {
		t.Fatal(err)
	}
	names, _ := s.Names()
	if !reflect.DeepEqual(names, []string{"API_KEY", "NEW"}) {
		t.Fatalf("names %v", names)
	}
	if v, _ := s.Get("API_KEY"); string(v) != "k2" {
		t.Fatalf("value %q", v)
	}
	if _, err := s.Get("_token2"); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatalf("removed secret: %v", err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 2 {
		t.Fatalf("leftover files: %v", entries)
	}
}

func TestInvalidNamesWriteNothing(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "s")}
	for _, bad := range []string{"", "1ABC", "../x", "a-b", "a/b", "A B", string(make([]byte, 65))} {
		_, err := s.Put(map[string][]byte{"GOOD": []byte("g"), bad: []byte("x")})
		if !agenterr.Is(err, agenterr.BadRequest) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "GOOD")); err == nil {
		t.Fatal("a rejected set was partly written")
	}
	if !ValidName("A"+strings.Repeat("_", 63)) || ValidName("A"+strings.Repeat("_", 64)) {
		t.Fatal("name length bound is not 64")
	}
}

func TestEnv(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	s.Put(map[string][]byte{"DB_PASS": []byte("hunter2"), "TOKEN": []byte("t0k")})
	env, err := s.Env(map[string]string{"DB_PASS": "PGPASSWORD", "TOKEN": ""})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env, []string{"PGPASSWORD=hunter2", "TOKEN=t0k"}) {
		t.Fatalf("env %v", env)
	}
	if _, err := s.Env(map[string]string{"MISSING": ""}); !agenterr.Is(err, agenterr.NotFound) {
		t.Fatal(err)
	}
	if _, err := s.Env(map[string]string{"TOKEN": "BAD-VAR"}); !agenterr.Is(err, agenterr.BadRequest) {
		t.Fatal(err)
	}
}

func TestTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s := &Store{Dir: filepath.Join(t.TempDir(), "pyro-secrets"), Tmpfs: true}
	if _, err := s.Put(map[string][]byte{"A": []byte("a")}); err != nil {
		t.Fatal(err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(s.Dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.TMPFS_MAGIC {
		t.Skip("tmpfs mount not permitted here; plain directory used")
	}
	defer unix.Unmount(s.Dir, 0)
	// A second Put must not stack another mount.
	if _, err := s.Put(map[string][]byte{"B": []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(s.Dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(s.Dir, 0); err == nil {
		t.Fatal("tmpfs mounted twice")
	}
	st, _ := os.Stat(s.Dir)
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestValidNameShape(t *testing.T) {
	for _, ok := range []string{"A", "_", "_9", "API_KEY", "a1"} {
		if !ValidName(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "9A", "A-B", "A.B", "A B", "A\n", "É", "A\x00"} {
		if ValidName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
