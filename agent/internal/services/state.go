package services

import (
	"time"

	"pyro-mcp/agent/internal/probe"
)

// Service states.
const (
	StateStarting = "starting" // started, readiness not judged yet
	StateRunning  = "running"  // started without a readiness check
	StateReady    = "ready"    // readiness check passed
	StateExited   = "exited"   // ended on its own after starting
	StateFailed   = "failed"   // readiness failed, or it ended before it was ready
	StateStopped  = "stopped"  // ended by Stop
)

// State is a service's status as the protocol reports it.
type State struct {
	Name      string          `json:"name"`
	State     string          `json:"state"`
	PID       int             `json:"pid"`
	ExitCode  *int            `json:"exit_code"`
	StartedAt time.Time       `json:"started_at"`
	EndedAt   *time.Time      `json:"ended_at"`
	Readiness *ReadinessState `json:"readiness"`
}

// ReadinessState is a service's readiness check and what it last found.
type ReadinessState struct {
	probe.Readiness
	Ready  bool   `json:"ready"`
	Detail string `json:"detail"`
}

// Live reports whether the service's process may still be running.
func (s State) Live() bool {
	return s.State == StateStarting || s.State == StateRunning || s.State == StateReady
}

// clone returns a copy that shares no pointers with s.
func (s State) clone() State {
	if s.ExitCode != nil {
		c := *s.ExitCode
		s.ExitCode = &c
	}
	if s.EndedAt != nil {
		t := *s.EndedAt
		s.EndedAt = &t
	}
	if s.Readiness != nil {
		r := *s.Readiness
		s.Readiness = &r
	}
	return s
}
