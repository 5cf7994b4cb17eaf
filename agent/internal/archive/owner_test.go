package archive

import (
	"archive/tar"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func ownerOf(t *testing.T, path string) (int, int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid), int(st.Gid)
}

// A workspace of an image with a non-root User: every entry put there, and
// every directory made on the way, must belong to that user.
func TestExtractAsGivesEveryEntryToTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to another uid")
	}
	base := t.TempDir()
	dest := filepath.Join(base, "ws", "deep")
	buf := makeTar(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "dir/", typ: tar.TypeDir, mode: 0o750},
		entry{name: "dir/file", body: "x", mode: 0o600},
		entry{name: "implied/parent/file", body: "y"},
		entry{name: "link", typ: tar.TypeSymlink, link: "dir/file"},
		entry{name: "hard", typ: tar.TypeLink, link: "dir/file"},
	)
	if _, err := ExtractAs(buf, dest, Limits{}, &Owner{UID: 1000, GID: 1001}); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"", "dir", "dir/file", "implied", "implied/parent", "implied/parent/file", "link", "hard"} {
		if uid, gid := ownerOf(t, filepath.Join(dest, rel)); uid != 1000 || gid != 1001 {
			t.Errorf("%q is owned by %d:%d, want 1000:1001", rel, uid, gid)
		}
	}
	// dest's missing parent was made for the owner too; the existing base was left alone.
	if uid, _ := ownerOf(t, filepath.Join(base, "ws")); uid != 1000 {
		t.Errorf("made parent ws owned by %d", uid)
	}
	if uid, _ := ownerOf(t, base); uid != 0 {
		t.Errorf("existing %s changed owner to %d", base, uid)
	}
	if st, _ := os.Stat(filepath.Join(dest, "dir/file")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// Without an owner (Extract), entries stay the agent's.
	plain := filepath.Join(base, "plain")
	if _, err := Extract(makeTar(t, entry{name: "f", body: "z"}), plain, Limits{}); err != nil {
		t.Fatal(err)
	}
	if uid, _ := ownerOf(t, filepath.Join(plain, "f")); uid != 0 {
		t.Errorf("Extract gave f to %d", uid)
	}
}

// An entry naming an existing directory gives it to the owner (how /workspace
// itself is handed over), while the archive's "./" leaves dest alone.
func TestExtractAsTakesOverAnExistingDirectoryEntry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to another uid")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "workspace"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractAs(makeTar(t, entry{name: "./", typ: tar.TypeDir}, entry{name: "workspace/", typ: tar.TypeDir, mode: 0o755}), root, Limits{}, &Owner{UID: 1000, GID: 1000}); err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(root, "workspace")); uid != 1000 || gid != 1000 {
		t.Errorf("workspace owned by %d:%d", uid, gid)
	}
	if uid, _ := ownerOf(t, root); uid != 0 {
		t.Errorf("the extraction root changed owner to %d", uid)
	}
}
