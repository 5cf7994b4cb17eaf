package secrets

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The secrets of a workspace whose image runs as a non-root User are its
// own: readable by it (0400, its uid), by no other user (directory 0700).
func TestPutAsGivesTheSecretsToTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to another uid")
	}
	s := &Store{Dir: filepath.Join(t.TempDir(), "pyro-secrets")}
	if _, err := s.PutAs(map[string][]byte{"TOKEN": []byte("v")}, &Owner{UID: 1000, GID: 1000}); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{s.Dir: 0o700, filepath.Join(s.Dir, "TOKEN"): 0o400} {
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 1000 || st.Gid != 1000 || os.FileMode(st.Mode).Perm() != mode {
			t.Errorf("%s: %d:%d %v, want 1000:1000 %v", path, st.Uid, st.Gid, os.FileMode(st.Mode).Perm(), mode)
		}
	}
}
