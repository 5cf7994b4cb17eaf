package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"pyro-mcp/agent/internal/bootargs"
)

// The agent started the way a VM's initramfs starts it: the arguments of
// pyro.init_args (or the initramfs's default), as PID 1, with the kernel
// command line the backend wrote (protocol/boot/vectors.json).
func TestStartFromBootVectors(t *testing.T) {
	raw, err := os.ReadFile("../../../protocol/boot/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name      string `json:"name"`
			Cmdline   string `json:"cmdline"`
			Initramfs struct {
				InitArgs string `json:"init_args"`
			} `json:"initramfs"`
			Agent *struct {
				Serve    []string `json:"serve"`
				Hostname string   `json:"hostname"`
				Prewarm  bool     `json:"prewarm"`
			} `json:"agent"`
		} `json:"cases"`
		Invalid []struct {
			Cmdline    string   `json:"cmdline"`
			AgentError string   `json:"agent_error"`
			AgentServe []string `json:"agent_serve"`
		} `json:"invalid"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range v.Cases {
		if c.Agent == nil {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			boot := func() (bootargs.Args, error) { return bootargs.Parse(c.Cmdline) }
			o, err := parseFlags(strings.Fields(c.Initramfs.InitArgs), true, boot)
			if err != nil {
				t.Fatal(err)
			}
			// The worker's flags name the transport it serves.
			serve := o.workerArgs()[1:3]
			if !reflect.DeepEqual(serve, c.Agent.Serve) {
				t.Fatalf("serves %v, want %v", serve, c.Agent.Serve)
			}
			if o.boot.Hostname != c.Agent.Hostname || o.boot.Prewarm != c.Agent.Prewarm {
				t.Fatalf("boot %+v, want %+v", o.boot, *c.Agent)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no agent vectors")
	}
	for _, c := range v.Invalid {
		boot := func() (bootargs.Args, error) { return bootargs.Parse(c.Cmdline) }
		o, err := parseFlags([]string{"--init"}, true, boot)
		if c.AgentError != "" {
			if err == nil || !strings.Contains(err.Error(), c.AgentError) {
				t.Errorf("%q: error %v, want %q", c.Cmdline, err, c.AgentError)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.Cmdline, err)
		}
		if serve := o.workerArgs()[1:3]; !reflect.DeepEqual(serve, c.AgentServe) {
			t.Errorf("%q: serves %v, want %v", c.Cmdline, serve, c.AgentServe)
		}
	}
}

// Flags win over the command line, and the sandbox never reads it.
func TestFlagsWinOverCmdline(t *testing.T) {
	boot := func() (bootargs.Args, error) { return bootargs.Parse("pyro.transport=vsock:9") }
	o, err := parseFlags([]string{"--serial", "/dev/vport0p1"}, true, boot)
	if err != nil || o.serial != "/dev/vport0p1" || o.vsock != 0 {
		t.Fatalf("%+v %v", o, err)
	}
	called := false
	o, err = parseFlags([]string{"--sandbox", "--listen", "unix:/x.sock"}, true, func() (bootargs.Args, error) { called = true; return bootargs.Args{}, nil })
	if err != nil || called {
		t.Fatalf("%+v %v called=%v", o, err, called)
	}
}
