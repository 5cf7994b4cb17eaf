package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"pyro-mcp/agent/internal/dnsallow"

	"golang.org/x/sys/unix"
)

// runDNSAllow serves a machine's allow-list resolver. It dies with the
// machine: the launcher (the process that becomes the machine) is its
// parent, and its death sends SIGKILL here (PR_SET_PDEATHSIG); a parent
// already gone by the time that is set is caught by comparing the pid.
func runDNSAllow(configPath string, parent int) error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl: %w", err)
	}
	if os.Getppid() != parent {
		return fmt.Errorf("the machine's launcher (pid %d) is gone", parent)
	}
	config, err := dnsallow.LoadConfig(configPath)
	if err != nil {
		return err
	}
	server := &dnsallow.Server{
		Config:  config,
		Matcher: dnsallow.NewMatcher(config.Hosts),
		Allow:   dnsallow.NftAllow(config),
		Logf:    boundedLogf(maxLogLines),
	}
	return server.Serve(context.Background(), func() {
		// The launcher waits for this line before it becomes the machine.
		fmt.Fprintln(os.Stdout, "ready")
	})
}

// maxLogLines bounds what the resolver writes to its log in the machine
// directory: a guest repeating failing queries cannot fill the host's disk.
const maxLogLines = 200

func boundedLogf(max int64) func(string, ...any) {
	var lines atomic.Int64
	return func(format string, args ...any) {
		switch n := lines.Add(1); {
		case n < max:
			logf(format, args...)
		case n == max:
			logf("more than %d messages; the rest are not logged", max-1)
		}
	}
}
