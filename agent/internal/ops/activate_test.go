package ops

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"pyro-mcp/agent/internal/sysinit"
)

func TestActivatePassesTheIdentityAndRefusesBadInput(t *testing.T) {
	var got []sysinit.Identity
	deps := testDeps(t)
	deps.Activate = func(id sysinit.Identity) error {
		got = append(got, id)
		return nil
	}
	h, hello := newHostWith(t, deps)
	if !strings.Contains(toJSON(t, hello["capabilities"]), `"activate"`) {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	entropy := []byte("0123456789abcdef0123456789abcdef")
	h.send(1, map[string]any{"op": "activate", "hostname": "vm-1", "unix_time_ms": 1_700_000_000_000, "entropy": base64.StdEncoding.EncodeToString(entropy)})
	if o := h.collect(1, 5*time.Second); o.final["type"] != "result" {
		t.Fatalf("activate: %v", o.final)
	}
	if len(got) != 1 || got[0].Hostname != "vm-1" || got[0].UnixNano != 1_700_000_000_000_000_000 || string(got[0].Entropy) != string(entropy) {
		t.Fatalf("identity %+v", got)
	}
	for i, bad := range []map[string]any{
		{"op": "activate", "hostname": strings.Repeat("h", 65)},
		{"op": "activate", "entropy": "not base64!"},
		{"op": "activate", "entropy": base64.StdEncoding.EncodeToString(make([]byte, maxEntropy+1))},
		{"op": "activate", "unix_time_ms": -1},
	} {
		id := uint32(2 + i)
		h.send(id, bad)
		if o := h.collect(id, 5*time.Second); o.final["type"] != "error" || o.final["code"] != "bad_request" {
			t.Fatalf("%v: %v", bad, o.final)
		}
	}
	if len(got) != 1 {
		t.Fatalf("bad requests reached the machine: %+v", got)
	}
}

func TestActivateIsAbsentOutsideAVM(t *testing.T) {
	h, hello := newHost(t)
	if strings.Contains(toJSON(t, hello["capabilities"]), `"activate"`) {
		t.Fatalf("capabilities %v", hello["capabilities"])
	}
	h.send(1, map[string]any{"op": "activate", "hostname": "host"})
	if o := h.collect(1, 5*time.Second); o.final["code"] != "unsupported" {
		t.Fatalf("activate outside a VM: %v", o.final)
	}
}
