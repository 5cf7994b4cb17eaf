package agenterr

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestCodeOf(t *testing.T) {
	if CodeOf(nil) != "" {
		t.Fatal("nil error should have no code")
	}
	if CodeOf(errors.New("plain")) != Internal {
		t.Fatal("untyped error should map to internal")
	}
	e := Wrap(IO, os.ErrNotExist, "open %s", "/x")
	wrapped := fmt.Errorf("outer: %w", e)
	if CodeOf(wrapped) != IO || !Is(wrapped, IO) || Is(wrapped, NotFound) {
		t.Fatalf("code lost through wrapping: %v", CodeOf(wrapped))
	}
	if !errors.Is(wrapped, os.ErrNotExist) {
		t.Fatal("cause lost")
	}
	if got := e.Error(); got != "open /x: file does not exist" {
		t.Fatalf("message %q", got)
	}
	if got := New(NotFound, "no shell %q", "ab").Error(); got != `no shell "ab"` {
		t.Fatalf("message %q", got)
	}
}
