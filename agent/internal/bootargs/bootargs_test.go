package bootargs

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// vectorFile is shared with the TypeScript tests (test/guest-boot).
const vectorFile = "../../../protocol/boot/vectors.json"

type agentView struct {
	Serve     []string `json:"serve"`
	Transport string   `json:"transport"`
	Hostname  string   `json:"hostname"`
	Prewarm   bool     `json:"prewarm"`
	Activate  bool     `json:"activate"`
	DNS       string   `json:"dns"`
}

type vectors struct {
	Keys  map[string]string `json:"keys"`
	Cases []struct {
		Name    string     `json:"name"`
		Cmdline string     `json:"cmdline"`
		Agent   *agentView `json:"agent"`
	} `json:"cases"`
	Invalid []struct {
		Cmdline    string   `json:"cmdline"`
		AgentError string   `json:"agent_error"`
		AgentServe []string `json:"agent_serve"`
	} `json:"invalid"`
}

func load(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no boot vectors")
	}
	return v
}

func TestParseVectors(t *testing.T) {
	for _, c := range load(t).Cases {
		if c.Agent == nil {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			got, err := Parse(c.Cmdline)
			if err != nil {
				t.Fatal(err)
			}
			want := c.Agent
			if got.Transport.String() != want.Transport || got.Hostname != want.Hostname || got.Prewarm != want.Prewarm ||
				got.Activate != want.Activate || got.DNS != want.DNS {
				t.Fatalf("Parse(%q) = %+v (transport %s), want %+v", c.Cmdline, got, got.Transport, *want)
			}
		})
	}
}

func TestInvalidTransport(t *testing.T) {
	for _, c := range load(t).Invalid {
		_, err := Parse(c.Cmdline)
		if c.AgentError == "" {
			if err != nil {
				t.Errorf("Parse(%q): %v", c.Cmdline, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.AgentError) {
			t.Errorf("Parse(%q) error %v, want %q", c.Cmdline, err, c.AgentError)
		}
	}
}

// The agent's keys are the ones the vectors list (a key renamed here only fails).
func TestKeysListed(t *testing.T) {
	keys := load(t).Keys
	for _, k := range []string{KeyTransport, KeyHostname, KeyPrewarm, KeyNet, KeyActivate} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s is not in %s", k, vectorFile)
		}
	}
}

func TestBadTransportKeepsOtherKeys(t *testing.T) {
	a, err := Parse("pyro.transport=vsock:x pyro.net=10.0.0.2/24,10.0.0.1,10.0.0.53")
	if err == nil || a.DNS != "10.0.0.53" {
		t.Fatalf("got %+v, %v", a, err)
	}
}
