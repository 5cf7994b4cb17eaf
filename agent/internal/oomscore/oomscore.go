// Package oomscore makes the guest's processes, not the agent, the OOM
// killer's first choice.
//
// A sandbox's memory cgroup holds the agent with the guest's processes; when
// the guest fills it with many small processes, the agent has the largest
// RSS and would be killed, ending the sandbox (it is PID 1) or a VM's command
// channel. Lowering the agent's own score needs CAP_SYS_RESOURCE on the host,
// which some hosts withhold even from root; raising a child's never needs a
// privilege. So each process started for the guest gets GuestScore.
package oomscore

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// GuestScore is the oom_score_adj of every process the agent starts for the
// guest: it adds half the memory limit to their badness, so any of them goes
// before an agent that uses less than half of it.
const GuestScore = 500

// Raise sets the oom_score_adj of pid, a process the agent just started for
// the guest, to GuestScore. Its children inherit it. Errors are ignored: the
// process may have exited already.
func Raise(pid int) {
	_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte(strconv.Itoa(GuestScore)), 0)
}

// startMu serialises Start: the agent's own score is raised around each fork.
var startMu sync.Mutex

// Start starts cmd with GuestScore from its first instant: the agent raises
// its own score, forks, and lowers it back (allowed without privilege down
// to the score it had), so the child is born with the raised score and
// nothing it forks at once can be born with the agent's. Raise then makes
// sure of it where the agent could not change its own score.
func Start(cmd *exec.Cmd) error {
	startMu.Lock()
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	raised := err == nil && os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(GuestScore)), 0) == nil
	err = cmd.Start()
	if raised {
		_ = os.WriteFile("/proc/self/oom_score_adj", []byte(strings.TrimSpace(string(own))), 0)
	}
	startMu.Unlock()
	if err != nil {
		return err
	}
	Raise(cmd.Process.Pid)
	return nil
}
