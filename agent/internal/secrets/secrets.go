// Package secrets materialises workspace secrets as files in the guest:
// one file per secret, mode 0400, in a directory of mode 0700 (by default
// /run/pyro-secrets, a tmpfs when the agent can mount one).
package secrets

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"pyro-mcp/agent/internal/agenterr"
)

// DefaultDir is where secrets live in the guest.
const DefaultDir = "/run/pyro-secrets"

// Bounds on one set of secrets.
const (
	MaxCount      = 256
	MaxTotalBytes = 16 << 20
)

// ValidName reports whether name is an acceptable secret name: a letter or
// underscore, then up to 63 letters, digits or underscores (ASCII).
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Store writes and reads the secrets in Dir.
type Store struct {
	// Dir holds one file per secret; DefaultDir when empty.
	Dir string
	// Tmpfs asks Put to mount a tmpfs on Dir first when one is not already
	// there (the agent sets it when it runs as the guest's init). When the
	// mount fails, the secrets go to a plain directory.
	Tmpfs bool
}

func (s *Store) dir() string {
	if s.Dir == "" {
		return DefaultDir
	}
	return s.Dir
}

// Put replaces the whole set of secrets with files. All names are checked
// before anything is written. Each file is written under a temporary name and
// renamed into place, then secrets absent from files are removed, so a reader
// sees either an old or a new value, never a partial one. It returns the
// number of secrets written.
func (s *Store) Put(files map[string][]byte) (int, error) {
	return s.PutAs(files, nil)
}

// Owner is the uid and gid that secret files and their directory are given.
type Owner struct {
	UID int
	GID int
}

// PutAs is Put, with the directory (0700) and every file (0400) owned by
// owner (a workspace's image User) so that user, and no other, reads them;
// nil: owned by the agent's user (root).
func (s *Store) PutAs(files map[string][]byte, owner *Owner) (int, error) {
	if len(files) > MaxCount {
		return 0, agenterr.New(agenterr.Limit, "more than %d secrets", MaxCount)
	}
	total := 0
	for name, value := range files {
		if !ValidName(name) {
			return 0, agenterr.New(agenterr.BadRequest, "invalid secret name %q", name)
		}
		total += len(value)
	}
	if total > MaxTotalBytes {
		return 0, agenterr.New(agenterr.Limit, "secrets exceed %d bytes", MaxTotalBytes)
	}
	dir := s.dir()
	if err := s.ensureDir(dir, owner); err != nil {
		return 0, err
	}
	for name, value := range files {
		if err := writeSecret(dir, name, value, owner); err != nil {
			return 0, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, agenterr.Wrap(agenterr.IO, err, "list secrets")
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; !keep {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return 0, agenterr.Wrap(agenterr.IO, err, "remove stale secret")
			}
		}
	}
	return len(files), nil
}

func (s *Store) ensureDir(dir string, owner *Owner) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "create secrets directory")
	}
	if s.Tmpfs {
		_ = mountTmpfs(dir) // best effort: a plain 0700 directory still works
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return agenterr.Wrap(agenterr.IO, err, "chmod secrets directory")
	}
	if owner != nil {
		if err := os.Lchown(dir, owner.UID, owner.GID); err != nil {
			return agenterr.Wrap(agenterr.IO, err, "chown secrets directory")
		}
	}
	return nil
}

func writeSecret(dir, name string, value []byte, owner *Owner) error {
	tmp := filepath.Join(dir, ".tmp-"+name+"-"+randomHex())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return agenterr.Wrap(agenterr.IO, err, "write secret %s", name)
	}
	_, werr := f.Write(value)
	cerr := f.Close()
	var oerr error
	if owner != nil {
		oerr = os.Lchown(tmp, owner.UID, owner.GID)
	}
	if err := errors.Join(werr, cerr, oerr, os.Chmod(tmp, 0o400)); err != nil {
		os.Remove(tmp)
		return agenterr.Wrap(agenterr.IO, err, "write secret %s", name)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return agenterr.Wrap(agenterr.IO, err, "install secret %s", name)
	}
	return nil
}

// Get returns the value of secret name.
func (s *Store) Get(name string) ([]byte, error) {
	if !ValidName(name) {
		return nil, agenterr.New(agenterr.BadRequest, "invalid secret name %q", name)
	}
	b, err := os.ReadFile(filepath.Join(s.dir(), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, agenterr.New(agenterr.NotFound, "no secret named %s", name)
	}
	if err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "read secret %s", name)
	}
	return b, nil
}

// Env maps secrets to environment variables: mapping is secret name →
// variable name (an empty variable name means the secret's own name). It
// returns "VAR=value" strings sorted by variable, ready for exec.Cmd.Env.
func (s *Store) Env(mapping map[string]string) ([]string, error) {
	env := make([]string, 0, len(mapping))
	for name, variable := range mapping {
		if variable == "" {
			variable = name
		}
		if !ValidName(variable) {
			return nil, agenterr.New(agenterr.BadRequest, "invalid environment variable name %q", variable)
		}
		v, err := s.Get(name)
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(v, 0) >= 0 {
			return nil, agenterr.New(agenterr.BadRequest, "secret %s contains a NUL byte and cannot be an environment variable", name)
		}
		env = append(env, variable+"="+string(v))
	}
	sort.Strings(env)
	return env, nil
}

// Names lists the secrets currently materialised, sorted.
func (s *Store) Names() ([]string, error) {
	entries, err := os.ReadDir(s.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "list secrets")
	}
	var names []string
	for _, e := range entries {
		if ValidName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = unix.Getrandom(b, 0)
	return hex.EncodeToString(b)
}
