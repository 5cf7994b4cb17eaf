package oomscore

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func score(t *testing.T, pid string) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + pid + "/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRaiseMakesAChildTheOOMKillersFirstChoice(t *testing.T) {
	own := score(t, "self")
	cmd := exec.Command("sh", "-c", "sleep 5 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	Raise(cmd.Process.Pid)
	if got := score(t, strconv.Itoa(cmd.Process.Pid)); got != GuestScore {
		t.Fatalf("after Raise the child has %d, want %d", got, GuestScore)
	}
	if got := score(t, "self"); got != own {
		t.Fatalf("the agent's own score changed from %d to %d", own, got)
	}
}

func TestRaiseIgnoresAProcessThatIsGone(t *testing.T) {
	Raise(1 << 30)
}

func TestStartGivesTheChildTheScoreBeforeItRuns(t *testing.T) {
	own := score(t, "self")
	// The child reads its own score as its first act: Raise after Start would be too late.
	cmd := exec.Command("cat", "/proc/self/oom_score_adj")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 16)
	n, _ := out.Read(raw)
	_ = cmd.Wait()
	if got := strings.TrimSpace(string(raw[:n])); got != strconv.Itoa(GuestScore) {
		t.Fatalf("the child was born with %q, want %d", got, GuestScore)
	}
	if got := score(t, "self"); got != own {
		t.Fatalf("the agent's own score changed from %d to %d", own, got)
	}
}
