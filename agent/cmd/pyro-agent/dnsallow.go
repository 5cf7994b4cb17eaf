package main

import (
	"context"
	"fmt"
	"os"

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
		Logf:    logf,
	}
	return server.Serve(context.Background(), func() {
		// The launcher waits for this line before it becomes the machine.
		fmt.Fprintln(os.Stdout, "ready")
	})
}
