package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
)

type entry struct {
	name, link string
	typ        byte
	mode       int64
	body       string
	size       int64 // header size when it differs from len(body)
}

func makeTar(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		size := int64(len(e.body))
		if e.size != 0 {
			size = e.size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: mode, Size: size,
			ModTime: time.Unix(1700000000, 0)}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.size == 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		} else {
			tw.Flush() // the bomb's body never comes; leave the stream short
			return &buf
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func wantCode(t *testing.T, err error, code agenterr.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	if got := agenterr.CodeOf(err); got != code {
		t.Fatalf("want %s error, got %s: %v", code, got, err)
	}
}

func TestExtractBasic(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "new", "dest")
	res, err := Extract(makeTar(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "dir/", typ: tar.TypeDir, mode: 0o750},
		entry{name: "dir/a.txt", body: "hello", mode: 0o640},
		entry{name: "implicit/parent/b", body: "bb"},
		entry{name: "suid", body: "x", mode: 0o4755},
		entry{name: "dir/link", link: "a.txt", typ: tar.TypeSymlink},
		entry{name: "hard", link: "dir/a.txt", typ: tar.TypeLink},
	), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The archive's root "./" is dest itself: not an entry written.
	if res.Entries != 6 || res.Bytes != 8 {
		t.Fatalf("result %+v", res)
	}
	st, err := os.Stat(filepath.Join(dest, "dir/a.txt"))
	if err != nil || st.Mode().Perm() != 0o640 || !st.ModTime().Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("a.txt: %v %v", st, err)
	}
	if st, _ := os.Stat(filepath.Join(dest, "dir")); st.Mode().Perm() != 0o750 || !st.ModTime().Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("dir mode %v mtime %v", st.Mode(), st.ModTime())
	}
	if st, _ := os.Stat(filepath.Join(dest, "suid")); st.Mode()&os.ModeSetuid != 0 || st.Mode().Perm() != 0o755 {
		t.Fatalf("setuid kept: %v", st.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(dest, "dir/link")); l != "a.txt" {
		t.Fatalf("link %q", l)
	}
	a, _ := os.Stat(filepath.Join(dest, "dir/a.txt"))
	h, _ := os.Stat(filepath.Join(dest, "hard"))
	if !os.SameFile(a, h) {
		t.Fatal("hard link not the same file")
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "implicit/parent/b")); string(b) != "bb" {
		t.Fatalf("b = %q", b)
	}
}

func TestExtractOverwrites(t *testing.T) {
	dest := t.TempDir()
	os.WriteFile(filepath.Join(dest, "f"), []byte("old"), 0o644)
	os.Mkdir(filepath.Join(dest, "emptydir"), 0o755)
	os.Symlink("f", filepath.Join(dest, "wasLink"))
	_, err := Extract(makeTar(t,
		entry{name: "f", body: "new"},
		entry{name: "emptydir", body: "now a file"},
		entry{name: "wasLink/", typ: tar.TypeDir},
	), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "f")); string(b) != "new" {
		t.Fatalf("f = %q", b)
	}
	if st, _ := os.Lstat(filepath.Join(dest, "wasLink")); !st.IsDir() {
		t.Fatal("symlink not replaced by a directory")
	}
}

func TestExtractRefusesMaliciousNames(t *testing.T) {
	for _, name := range []string{"/etc/evil", "../evil", "a/../../evil", "a/b/../../../evil", "..", "x/.."} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			dest := filepath.Join(base, "dest")
			_, err := Extract(makeTar(t, entry{name: name, body: "pwned"}), dest, Limits{})
			wantCode(t, err, agenterr.BadRequest)
			if _, err := os.Stat(filepath.Join(base, "evil")); err == nil {
				t.Fatal("file written outside dest")
			}
		})
	}
}

func TestExtractKeepsSymlinksWhateverTheirTarget(t *testing.T) {
	dest := t.TempDir()
	links := []entry{
		{name: "abs", link: "/etc/passwd", typ: tar.TypeSymlink},
		{name: "up", link: "..", typ: tar.TypeSymlink},
		{name: "a/l", link: "../../etc/passwd", typ: tar.TypeSymlink},
		{name: "in", link: "a", typ: tar.TypeSymlink},
	}
	res, err := Extract(makeTar(t, links...), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 4 {
		t.Fatalf("result %+v", res)
	}
	for _, e := range links {
		if l, err := os.Readlink(filepath.Join(dest, e.name)); err != nil || l != e.link {
			t.Errorf("%s: link %q, %v", e.name, l, err)
		}
	}
	// An empty target cannot be a symlink.
	_, err = Extract(makeTar(t, entry{name: "l", link: "", typ: tar.TypeSymlink}), t.TempDir(), Limits{})
	wantCode(t, err, agenterr.BadRequest)
}

func TestExtractWritesThroughSymlinksOnlyInsideDest(t *testing.T) {
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	outside := filepath.Join(base, "outside")
	os.Mkdir(outside, 0o755)
	// Inside: relative, absolute (naming dest), chained, with "..": followed, written at the target.
	res, err := Extract(makeTar(t,
		entry{name: "d/", typ: tar.TypeDir},
		entry{name: "s", link: "d", typ: tar.TypeSymlink},
		entry{name: "s/f", body: "rel"},
		entry{name: "abs", link: dest + "/d", typ: tar.TypeSymlink},
		entry{name: "abs/g", body: "abs"},
		entry{name: "d/e/", typ: tar.TypeDir},
		entry{name: "chain", link: "s/e/..", typ: tar.TypeSymlink},
		entry{name: "chain/h", body: "chain"},
		entry{name: "s/sub/deep", body: "deep"},
		entry{name: "hl", link: "s/f", typ: tar.TypeLink},
	), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 10 {
		t.Fatalf("result %+v", res)
	}
	for p, want := range map[string]string{"d/f": "rel", "d/g": "abs", "d/h": "chain", "d/sub/deep": "deep", "hl": "rel"} {
		if b, err := os.ReadFile(filepath.Join(dest, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", p, b, err)
		}
	}
	if st, _ := os.Lstat(filepath.Join(dest, "s")); st.Mode()&os.ModeSymlink == 0 {
		t.Error("s is no longer a symlink")
	}

	// Out: absolute, relative, through a link inside that climbs out, an
	// absolute target that climbs, a loop. Each refused, naming the entry.
	os.Symlink(outside, filepath.Join(dest, "planted")) // by a guest process, say
	cases := [][]entry{
		{{name: "out", link: outside, typ: tar.TypeSymlink}, {name: "out/x", body: "pwned"}},
		{{name: "rel", link: "../outside", typ: tar.TypeSymlink}, {name: "rel/x", body: "pwned"}},
		{{name: "d/up", link: "..", typ: tar.TypeSymlink}, {name: "climb", link: "d/up/..", typ: tar.TypeSymlink}, {name: "climb/outside/x", body: "pwned"}},
		{{name: "abs2", link: dest + "/d/../../outside", typ: tar.TypeSymlink}, {name: "abs2/x", body: "pwned"}},
		{{name: "planted/x", body: "pwned"}},
		{{name: "planted/", typ: tar.TypeDir}},
		{{name: "loop", link: "loop", typ: tar.TypeSymlink}, {name: "loop/x", body: "pwned"}},
	}
	for _, entries := range cases {
		last := entries[len(entries)-1].name
		t.Run(last, func(t *testing.T) {
			_, err := Extract(makeTar(t, entries...), dest, Limits{})
			if last == "planted/" {
				// A directory entry replaces the symlink in its place; it never follows it.
				if err != nil {
					t.Fatal(err)
				}
				if st, _ := os.Lstat(filepath.Join(dest, "planted")); !st.IsDir() {
					t.Fatal("planted not replaced by a directory")
				}
				return
			}
			wantCode(t, err, agenterr.BadRequest)
			if !strings.Contains(err.Error(), strings.TrimSuffix(last, "/")) {
				t.Errorf("error does not name the entry %q: %v", last, err)
			}
			if last != "loop/x" && !strings.Contains(err.Error(), "would be written through symlink") {
				t.Errorf("error does not name the link: %v", err)
			}
			if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
				t.Fatal("wrote outside dest")
			}
		})
	}
	_, err = Extract(makeTar(t, entry{name: "out/x", body: "pwned"}), dest, Limits{})
	if err == nil || !strings.Contains(err.Error(), `"out" -> "`+outside+`"`) {
		t.Errorf("error does not name the link: %v", err)
	}
}

func TestExtractNeverWritesThroughFinalSymlinks(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "target"), []byte("precious"), 0o644)
	dest := filepath.Join(base, "dest")
	os.Mkdir(dest, 0o755)
	os.Symlink(filepath.Join(outside, "target"), filepath.Join(dest, "f"))

	if _, err := Extract(makeTar(t, entry{name: "f", body: "pwned"}), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "target")); string(b) != "precious" {
		t.Fatal("wrote through a final symlink")
	}
	if st, _ := os.Lstat(filepath.Join(dest, "f")); !st.Mode().IsRegular() {
		t.Fatal("symlink not replaced by the file")
	}
}

func TestExtractRefusesHardLinkEscapes(t *testing.T) {
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	os.MkdirAll(dest, 0o755)
	os.WriteFile(filepath.Join(dest, "preexisting"), []byte("p"), 0o644)
	for _, link := range []string{"/etc/passwd", "../outside", "preexisting", "missing", "dir"} {
		t.Run(link, func(t *testing.T) {
			_, err := Extract(makeTar(t,
				entry{name: "dir/", typ: tar.TypeDir},
				entry{name: "h", link: link, typ: tar.TypeLink},
			), dest, Limits{})
			if err == nil {
				t.Fatal("hard link accepted")
			}
			if c := agenterr.CodeOf(err); c != agenterr.BadRequest {
				t.Fatalf("code %s: %v", c, err)
			}
		})
	}
	// A hard link to a file that was later replaced by a symlink is refused.
	_, err := Extract(makeTar(t,
		entry{name: "a", body: "a"},
		entry{name: "a", link: "dir", typ: tar.TypeSymlink},
		entry{name: "h2", link: "a", typ: tar.TypeLink},
	), dest, Limits{})
	wantCode(t, err, agenterr.BadRequest)
}

func TestExtractRefusesSpecialFiles(t *testing.T) {
	for _, typ := range []byte{tar.TypeChar, tar.TypeBlock, tar.TypeFifo} {
		dest := t.TempDir()
		_, err := Extract(makeTar(t, entry{name: "dev", typ: typ}), dest, Limits{})
		wantCode(t, err, agenterr.BadRequest)
		if _, err := os.Lstat(filepath.Join(dest, "dev")); err == nil {
			t.Fatalf("type %q created", typ)
		}
	}
}

func TestExtractLimits(t *testing.T) {
	// A header that claims far more than the limit is refused before any write.
	dest := t.TempDir()
	_, err := Extract(makeTar(t, entry{name: "bomb", size: 1 << 40}), dest, Limits{MaxBytes: 1 << 20})
	wantCode(t, err, agenterr.Limit)
	if _, err := os.Lstat(filepath.Join(dest, "bomb")); err == nil {
		t.Fatal("bomb file created")
	}
	// Many files that add up past the limit.
	var es []entry
	for i := 0; i < 5; i++ {
		es = append(es, entry{name: "f" + strings.Repeat("x", i), body: strings.Repeat("z", 400)})
	}
	res, err := Extract(makeTar(t, es...), t.TempDir(), Limits{MaxBytes: 1000})
	wantCode(t, err, agenterr.Limit)
	if res.Bytes != 800 {
		t.Fatalf("bytes before the limit: %d", res.Bytes)
	}
	// Too many entries.
	es = nil
	for i := 0; i < 20; i++ {
		es = append(es, entry{name: "d" + strings.Repeat("x", i) + "/", typ: tar.TypeDir})
	}
	_, err = Extract(makeTar(t, es...), t.TempDir(), Limits{MaxEntries: 10})
	wantCode(t, err, agenterr.Limit)
	// Names and link targets that are too long.
	_, err = Extract(makeTar(t, entry{name: strings.Repeat("a/", 100) + "f"}), t.TempDir(), Limits{MaxPathLen: 100})
	wantCode(t, err, agenterr.Limit)
	_, err = Extract(makeTar(t, entry{name: "l", link: strings.Repeat("x", 200), typ: tar.TypeSymlink}), t.TempDir(), Limits{MaxPathLen: 100})
	wantCode(t, err, agenterr.Limit)
	// A deep path within the limits is fine.
	deep := strings.Repeat("d/", 300) + "f"
	dest = t.TempDir()
	if _, err := Extract(makeTar(t, entry{name: deep, body: "deep"}), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, deep)); string(b) != "deep" {
		t.Fatal("deep file missing")
	}
}

func TestExtractMalformed(t *testing.T) {
	_, err := Extract(strings.NewReader(strings.Repeat("garbage!", 200)), t.TempDir(), Limits{})
	wantCode(t, err, agenterr.BadRequest)
	// A body cut short.
	full := makeTar(t, entry{name: "f", body: strings.Repeat("y", 5000)}).Bytes()
	_, err = Extract(bytes.NewReader(full[:2048]), t.TempDir(), Limits{})
	wantCode(t, err, agenterr.BadRequest)
}

func TestRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "project")
	mtime := time.Unix(1600000000, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(src, "private"), 0o700))
	must(os.MkdirAll(filepath.Join(src, "empty"), 0o755))
	must(os.WriteFile(filepath.Join(src, "bin/run"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, "private/key"), []byte("k"), 0o600))
	must(os.WriteFile(filepath.Join(src, "README"), []byte(strings.Repeat("r", 10000)), 0o644))
	must(os.Symlink("bin/run", filepath.Join(src, "run-link")))
	must(os.Symlink("/etc/passwd", filepath.Join(src, "outside-link"))) // archived, never followed
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))             // skipped
	for _, p := range []string{"bin/run", "private/key", "README", "bin", "private", "empty", ""} {
		must(os.Chtimes(filepath.Join(src, p), mtime, mtime))
	}
	must(os.Chmod(filepath.Join(src, "private"), 0o700))

	var buf bytes.Buffer
	res, err := Create(&buf, src, 0)
	must(err)
	if res.Kind != "directory" || res.Entries != 9 || res.Bytes != 10000+18+1 {
		t.Fatalf("create result %+v", res)
	}
	names := tarNames(t, buf.Bytes())
	if names[0] != "project/" || !contains(names, "project/bin/run") || contains(names, "project/fifo") {
		t.Fatalf("names %v", names)
	}

	// The archived outside link comes back as the same link, never followed.
	dest := t.TempDir()
	xres, err := Extract(&buf, dest, Limits{})
	must(err)
	if l, _ := os.Readlink(filepath.Join(dest, "project/outside-link")); l != "/etc/passwd" {
		t.Errorf("outside link %q", l)
	}
	if xres.Entries != 9 || xres.Bytes != 10019 {
		t.Fatalf("extract result %+v", xres)
	}
	for _, c := range []struct {
		p    string
		mode os.FileMode
	}{{"bin/run", 0o755}, {"private/key", 0o600}, {"README", 0o644}, {"private", 0o700 | os.ModeDir}, {"empty", 0o755 | os.ModeDir}} {
		st, err := os.Lstat(filepath.Join(dest, "project", c.p))
		must(err)
		if st.Mode() != c.mode || !st.ModTime().Equal(mtime) {
			t.Errorf("%s: mode %v mtime %v", c.p, st.Mode(), st.ModTime())
		}
	}
	if l, _ := os.Readlink(filepath.Join(dest, "project/run-link")); l != "bin/run" {
		t.Errorf("link %q", l)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "project/run-link")); string(b) != "#!/bin/sh\necho hi\n" {
		t.Errorf("through link: %q", b)
	}
}

func TestCreateFileSymlinkAndErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("abc"), 0o600)
	os.Symlink("f.txt", filepath.Join(dir, "l"))
	var buf bytes.Buffer
	res, err := Create(&buf, filepath.Join(dir, "f.txt"), 0)
	if err != nil || res.Kind != "file" || res.Entries != 1 || res.Bytes != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := tarNames(t, buf.Bytes()); len(n) != 1 || n[0] != "f.txt" {
		t.Fatalf("names %v", n)
	}
	buf.Reset()
	res, err = Create(&buf, filepath.Join(dir, "l"), 0)
	if err != nil || res.Entries != 1 || res.Bytes != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	tr := tar.NewReader(&buf)
	h, _ := tr.Next()
	if h.Typeflag != tar.TypeSymlink || h.Linkname != "f.txt" {
		t.Fatalf("symlink header %+v", h)
	}
	_, err = Create(&buf, filepath.Join(dir, "missing"), 0)
	wantCode(t, err, agenterr.NotFound)
	// A FIFO asked for by name is refused with its kind, not sent as an empty tar.
	fifo := filepath.Join(dir, "ff")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	_, err = Create(&buf, fifo, 0)
	wantCode(t, err, agenterr.Unsupported)
	if !strings.Contains(err.Error(), "named pipe") || buf.Len() != 0 {
		t.Fatalf("fifo: %v (%d bytes written)", err, buf.Len())
	}
	// Inside a tree it is still skipped.
	buf.Reset()
	if _, err := Create(&buf, dir, 0); err != nil || contains(tarNames(t, buf.Bytes()), filepath.Base(dir)+"/ff") {
		t.Fatalf("tree with a fifo: %v %v", err, tarNames(t, buf.Bytes()))
	}
	_, err = Create(&buf, dir, 2)
	wantCode(t, err, agenterr.Limit)
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHardLinkErrorsNameTheLink(t *testing.T) {
	for _, link := range []string{"/etc/passwd", "../outside", "missing"} {
		_, err := Extract(makeTar(t, entry{name: "dir/h", link: link, typ: tar.TypeLink}), t.TempDir(), Limits{})
		wantCode(t, err, agenterr.BadRequest)
		msg := err.Error()
		if !strings.Contains(msg, `hard link "dir/h" -> "`+link+`"`) || strings.Contains(msg, "entry name") {
			t.Errorf("%s: %v", link, msg)
		}
	}
}

func TestLimitAndReplaceErrorsNameTheEntry(t *testing.T) {
	_, err := Extract(makeTar(t, entry{name: "a", body: "ok"}, entry{name: "dir/big", body: strings.Repeat("x", 200)}), t.TempDir(), Limits{MaxBytes: 100})
	wantCode(t, err, agenterr.Limit)
	if !strings.Contains(err.Error(), `"dir/big"`) {
		t.Errorf("bytes limit: %v", err)
	}
	_, err = Extract(makeTar(t, entry{name: "a", body: "1"}, entry{name: "b", body: "2"}), t.TempDir(), Limits{MaxEntries: 1})
	wantCode(t, err, agenterr.Limit)
	if !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("entries limit: %v", err)
	}
	_, err = Extract(makeTar(t, entry{name: "d/f", body: "1"}, entry{name: "d", body: "2"}), t.TempDir(), Limits{})
	wantCode(t, err, agenterr.BadRequest)
	if !strings.Contains(err.Error(), `entry "d" cannot replace the non-empty directory`) {
		t.Errorf("replace: %v", err)
	}
}
