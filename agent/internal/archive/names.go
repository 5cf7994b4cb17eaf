package archive

import (
	"path"
	"strings"

	"pyro-mcp/agent/internal/agenterr"
)

// cleanName turns a tar entry name into a clean relative slash path, or fails
// for names that are absolute, climb with "..", contain NUL or are too long.
// The archive root ("." or "./") cleans to "".
func cleanName(name string, maxLen int) (string, error) {
	if len(name) > maxLen {
		return "", agenterr.New(agenterr.Limit, "entry name longer than %d bytes", maxLen)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", agenterr.New(agenterr.BadRequest, "entry name contains NUL")
	}
	if strings.HasPrefix(name, "/") {
		return "", agenterr.New(agenterr.BadRequest, "absolute entry name %q refused", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", agenterr.New(agenterr.BadRequest, "entry name %q contains '..'", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// linkStaysInside reports whether a symlink at relative path name with target
// stays within the extraction root. dest is the absolute, cleaned destination,
// used for absolute targets.
//
// Lexical cleaning is wrong once a ".." follows a component that may itself be
// a symlink ("d/l/.." is not "d" when l -> ".."), so a target may only climb
// first ("../../x/y") and at most as far as the root; an absolute target may
// not climb at all. Links are always created at real paths, so by induction
// every link made this way resolves inside the root.
func linkStaysInside(name, target, dest string) bool {
	if target == "" || strings.IndexByte(target, 0) >= 0 {
		return false
	}
	if strings.HasPrefix(target, "/") {
		for _, part := range strings.Split(target, "/") {
			if part == ".." {
				return false
			}
		}
		t := path.Clean(target)
		return t == dest || dest == "/" || strings.HasPrefix(t, dest+"/")
	}
	depth := strings.Count(name, "/") // directories between the root and the link
	climbing := true
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == "..":
			if !climbing {
				return false
			}
			depth--
			if depth < 0 {
				return false
			}
		case part == "" || part == ".":
		default:
			climbing = false
		}
	}
	return true
}
