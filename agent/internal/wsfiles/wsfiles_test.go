package wsfiles

import (
	"bytes"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pyro-mcp/agent/internal/agenterr"
)

// tree makes root/ws (the root) and root/outside/secret, returns both dirs.
func tree(t *testing.T) (*Root, string, string) {
	t.Helper()
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	out := filepath.Join(base, "outside")
	must(t, os.MkdirAll(ws, 0o755))
	must(t, os.MkdirAll(out, 0o755))
	must(t, os.WriteFile(filepath.Join(out, "secret"), []byte("host secret"), 0o600))
	r, err := OpenRoot(ws)
	must(t, err)
	t.Cleanup(r.Close)
	return r, ws, out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSymlinksStayBeneathTheRoot(t *testing.T) {
	r, ws, out := tree(t)
	must(t, os.Symlink(filepath.Join(out, "secret"), filepath.Join(ws, "abs-out")))
	must(t, os.Symlink("../outside/secret", filepath.Join(ws, "rel-out")))
	must(t, os.Symlink("../outside", filepath.Join(ws, "dir-out")))
	must(t, os.WriteFile(filepath.Join(ws, "real.txt"), []byte("inside"), 0o644))
	must(t, os.Mkdir(filepath.Join(ws, "sub"), 0o755))
	must(t, os.Symlink("../real.txt", filepath.Join(ws, "sub", "link-in")))
	for _, p := range []string{"abs-out", "rel-out", "dir-out/secret"} {
		var buf bytes.Buffer
		if _, err := r.Read(p, 100, &buf); err == nil || buf.Len() != 0 || !strings.Contains(err.Error(), "outside") {
			t.Errorf("read %s: err=%v content=%q", p, err, buf.String())
		}
		if _, err := r.Write(p, []byte("pwned")); err == nil {
			t.Errorf("write %s succeeded", p)
		}
	}
	if _, err := r.Write("dir-out/new", []byte("x")); err == nil {
		t.Error("write through a directory symlink out succeeded")
	}
	got, _ := os.ReadFile(filepath.Join(out, "secret"))
	if string(got) != "host secret" {
		t.Fatalf("outside file changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "new")); err == nil {
		t.Fatal("a file was created outside")
	}
	var buf bytes.Buffer
	res, err := r.Read("sub/link-in", 100, &buf)
	must(t, err)
	if buf.String() != "inside" || res.Truncated {
		t.Fatalf("a link inside the root: %q %+v", buf.String(), res)
	}
}

func TestReadIsBoundedOnAHugeSparseFile(t *testing.T) {
	r, ws, _ := tree(t)
	f, err := os.Create(filepath.Join(ws, "huge"))
	must(t, err)
	must(t, f.Truncate(1<<30))
	f.Close()
	var buf bytes.Buffer
	res, err := r.Read("huge", 65536, &buf)
	must(t, err)
	if buf.Len() != 65536 || !res.Truncated || res.SizeBytes != 1<<30 || res.BytesRead != 65536 {
		t.Fatalf("got %d bytes, %+v", buf.Len(), res)
	}
	if _, err := r.Read("", 10, &buf); !agenterr.Is(err, agenterr.BadRequest) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("reading a directory: %v", err)
	}
}

func TestWriteMakesParentsAndKeepsAnExistingFilesMode(t *testing.T) {
	r, ws, _ := tree(t)
	res, err := r.Write("a/b/c.txt", []byte("hello"))
	must(t, err)
	if !res.Created || res.BytesWritten != 5 {
		t.Fatalf("%+v", res)
	}
	must(t, os.WriteFile(filepath.Join(ws, "x.sh"), []byte("old content"), 0o755))
	res, err = r.Write("x.sh", []byte("new"))
	must(t, err)
	st, _ := os.Stat(filepath.Join(ws, "x.sh"))
	got, _ := os.ReadFile(filepath.Join(ws, "x.sh"))
	if res.Created || st.Mode().Perm() != 0o755 || string(got) != "new" {
		t.Fatalf("%+v %v %q", res, st.Mode(), got)
	}
	if _, err := r.Write("a", []byte("x")); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("writing a directory: %v", err)
	}
	if err := CheckRel("../x"); err == nil {
		t.Fatal("../x accepted")
	}
}

func expectOf(content string) *Expect {
	return &Expect{Size: int64(len(content)), CRC32: crc32.ChecksumIEEE([]byte(content))}
}

func TestApplyIsAllOrNothing(t *testing.T) {
	r, ws, _ := tree(t)
	must(t, os.WriteFile(filepath.Join(ws, "mod.txt"), []byte("one\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(ws, "del.txt"), []byte("bye\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "third.txt"), []byte("actual\n"), 0o644))
	changes := []Change{
		{Path: "new/dir/add.txt", Action: "write", Size: 4},
		{Path: "mod.txt", Action: "write", Size: 4, Expect: expectOf("one\n")},
		{Path: "third.txt", Action: "delete", Expect: expectOf("expected\n")},
	}
	err := r.Apply(changes, []byte("add\ntwo\n"))
	if !agenterr.Is(err, agenterr.Exists) || !strings.Contains(err.Error(), "third.txt") {
		t.Fatalf("want a conflict on third.txt, got %v", err)
	}
	names, _ := os.ReadDir(ws)
	var listed []string
	for _, n := range names {
		listed = append(listed, n.Name())
	}
	if strings.Join(listed, ",") != "del.txt,mod.txt,third.txt" {
		t.Fatalf("the failed apply left %v", listed)
	}
	changes[2] = Change{Path: "del.txt", Action: "delete", Expect: expectOf("bye\n")}
	must(t, r.Apply(changes, []byte("add\ntwo\n")))
	got, _ := os.ReadFile(filepath.Join(ws, "mod.txt"))
	st, _ := os.Stat(filepath.Join(ws, "mod.txt"))
	added, _ := os.ReadFile(filepath.Join(ws, "new/dir/add.txt"))
	if string(got) != "two\n" || st.Mode().Perm() != 0o640 || string(added) != "add\n" {
		t.Fatalf("mod=%q %v add=%q", got, st.Mode(), added)
	}
	if _, err := os.Stat(filepath.Join(ws, "del.txt")); !os.IsNotExist(err) {
		t.Fatal("del.txt is still there")
	}
	yes, no := true, false
	must(t, os.WriteFile(filepath.Join(ws, "tool.sh"), []byte("x"), 0o644))
	exec := []Change{
		{Path: "new.sh", Action: "write", Size: 1, Executable: &yes},
		{Path: "tool.sh", Action: "write", Size: 1, Expect: expectOf("x"), Executable: &yes},
		{Path: "mod.txt", Action: "write", Size: 1, Expect: expectOf("two\n"), Executable: &no},
	}
	must(t, os.Chmod(filepath.Join(ws, "mod.txt"), 0o750))
	must(t, r.Apply(exec, []byte("abc")))
	// A new executable is 0777 less the umask; existing files get +x where readable, or lose every x.
	for name, want := range map[string]os.FileMode{"new.sh": 0o777 &^ umask(t), "tool.sh": 0o755, "mod.txt": 0o640} {
		if st, _ := os.Stat(filepath.Join(ws, name)); st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
	dup := []Change{{Path: "x", Action: "write", Size: 0}, {Path: "x", Action: "write", Size: 0}}
	if err := r.Apply(dup, nil); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicates: %v", err)
	}
}

// umask is the process's umask (it cuts the mode of created files).
func umask(t *testing.T) os.FileMode {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "probe"), nil, 0o777))
	st, err := os.Stat(filepath.Join(dir, "probe"))
	must(t, err)
	return 0o777 &^ st.Mode().Perm()
}

func TestListRecursiveReportsSymlinksWithoutFollowing(t *testing.T) {
	r, ws, _ := tree(t)
	must(t, os.MkdirAll(filepath.Join(ws, "src/pkg"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "src/pkg/a.go"), []byte("package a"), 0o644))
	must(t, os.Symlink("../outside", filepath.Join(ws, "out")))
	entries, truncated, err := r.List("", true, ListLimits{MaxEntries: 100, MaxBytes: 1 << 20})
	must(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Kind+":"+e.Path)
	}
	want := "symlink:out,directory:src,directory:src/pkg,file:src/pkg/a.go"
	if strings.Join(got, ",") != want || truncated {
		t.Fatalf("got %v (truncated %v)", got, truncated)
	}
	entries, truncated, err = r.List("", true, ListLimits{MaxEntries: 2, MaxBytes: 1 << 20})
	must(t, err)
	if len(entries) != 2 || !truncated {
		t.Fatalf("limit: %d %v", len(entries), truncated)
	}
}
