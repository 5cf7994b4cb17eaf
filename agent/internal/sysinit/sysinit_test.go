package sysinit

import (
	"reflect"
	"testing"
)

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		"/proc":            "/proc",
		`/mnt/with\040sp`:  "/mnt/with sp",
		`/a\134b`:          `/a\b`,
		`/trailing\04`:     `/trailing\04`,
		`/not\999octal`:    `/not\999octal`,
		`/tab\011and\012n`: "/tab\tand\nn",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsMountPoint(t *testing.T) {
	if !isMountPoint("/") {
		t.Fatal("/ is not a mount point")
	}
	if isMountPoint("/surely/not/mounted/here") {
		t.Fatal("a made-up path is a mount point")
	}
}

func TestWithoutFdFlags(t *testing.T) {
	got := withoutFdFlags([]string{"--worker", "--ready-fd", "3", "--sandbox", "--listen", "fd:5", "--gate-fd", "4"})
	if want := []string{"--worker", "--sandbox"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}
