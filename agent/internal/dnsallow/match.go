// Package dnsallow is the allow-list resolver of a networked machine: a
// host-side DNS forwarder that runs inside the machine's network namespace,
// answers only names on the allow-list, and adds every address it resolves
// for them to the namespace's nftables sets, which the egress filter accepts.
// Everything it reads is bounded (message sizes, record counts, in-flight
// queries). See docs/networking.md.
package dnsallow

import "strings"

// Matcher decides whether a name is on the allow-list: exact names, and
// `*.example.com` for any name below example.com (not example.com itself).
type Matcher struct {
	exact    map[string]bool
	suffixes []string
}

// NewMatcher builds a Matcher from allow-list patterns (case-insensitive;
// a trailing dot is ignored).
func NewMatcher(patterns []string) *Matcher {
	m := &Matcher{exact: map[string]bool{}}
	for _, p := range patterns {
		p = normalize(p)
		if strings.HasPrefix(p, "*.") {
			m.suffixes = append(m.suffixes, p[1:])
		} else if p != "" {
			m.exact[p] = true
		}
	}
	return m
}

// Allows reports whether name is on the allow-list.
func (m *Matcher) Allows(name string) bool {
	name = normalize(name)
	if m.exact[name] {
		return true
	}
	for _, s := range m.suffixes {
		if len(name) > len(s) && strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func normalize(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}
