package wsfiles

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func uidGid(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	must(t, syscall.Lstat(path, &st))
	return st.Uid, st.Gid
}

// Files written for a workspace's image User belong to it (so its commands
// can edit them); a file that exists keeps its owner.
func TestSetOwnerGivesNewFilesAndDirectoriesToTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to another uid")
	}
	r, ws, _ := tree(t)
	r.SetOwner(1000, 1000)
	_, err := r.Write("new/dir/file.txt", []byte("hi"))
	must(t, err)
	for _, rel := range []string{"new", "new/dir", "new/dir/file.txt"} {
		if uid, gid := uidGid(t, filepath.Join(ws, rel)); uid != 1000 || gid != 1000 {
			t.Errorf("%s owned by %d:%d, want 1000:1000", rel, uid, gid)
		}
	}
	must(t, os.WriteFile(filepath.Join(ws, "rootfile"), []byte("r"), 0o644))
	_, err = r.Write("rootfile", []byte("changed"))
	must(t, err)
	if uid, _ := uidGid(t, filepath.Join(ws, "rootfile")); uid != 0 {
		t.Errorf("an existing file changed owner to %d", uid)
	}
	must(t, r.Apply([]Change{{Path: "applied/a.txt", Action: "write", Size: 3}}, []byte("abc")))
	for _, rel := range []string{"applied", "applied/a.txt"} {
		if uid, _ := uidGid(t, filepath.Join(ws, rel)); uid != 1000 {
			t.Errorf("%s owned by %d, want 1000", rel, uid)
		}
	}
}
