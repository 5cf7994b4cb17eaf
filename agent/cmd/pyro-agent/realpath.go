package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// realpathMissing resolves path like `realpath -m`: every symlink among the
// components that exist is followed, missing components are kept as
// written. The host uses it (`pyro-agent --realpath PATH`) to check that a
// workspace path stays under /workspace in guests whose image has no GNU
// realpath (busybox, distroless-like OCI images).
func realpathMissing(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", errors.New("path must be absolute")
	}
	parts := strings.Split(path, "/")
	cur := "/"
	hops := 0
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		info, err := os.Lstat(next)
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		hops++
		if hops > 40 {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		parts = append(strings.Split(target, "/"), parts[i+1:]...)
		i = -1
	}
	return cur, nil
}

// runRealpath prints realpathMissing(path) and returns the exit code.
func runRealpath(path string) int {
	resolved, err := realpathMissing(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pyro-agent: realpath %s: %v\n", path, err)
		return 1
	}
	fmt.Println(resolved)
	return 0
}
