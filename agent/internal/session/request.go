package session

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/protocol"
)

// Handler serves one request. It may stream data and events through req, and
// returns the fields of the final result (a struct, a map or nil) or an error
// that becomes {"type":"error"} with the code agenterr.CodeOf(err).
type Handler func(req *Request) (any, error)

// Control is a CONTROL message the host sent on a running request's stream
// (for exec: signal and resize).
type Control struct {
	Op      string
	Payload []byte
}

// Request is one request of a session, from its opening CONTROL message to
// its final message.
type Request struct {
	// Stream is the request's stream id.
	Stream uint32
	// Op is the request's op.
	Op string
	// Payload is the opening CONTROL message, a JSON object.
	Payload []byte

	ctx      context.Context
	writer   *protocol.Writer
	stdin    *stdinQueue
	controls chan Control

	mu         sync.Mutex
	afterReply []func()
}

func newRequest(ctx context.Context, w *protocol.Writer, stream uint32, op string, payload []byte) *Request {
	return &Request{
		Stream:   stream,
		Op:       op,
		Payload:  payload,
		ctx:      ctx,
		writer:   w,
		stdin:    newStdinQueue(),
		controls: make(chan Control, 32),
	}
}

// Context is cancelled when the session ends.
func (r *Request) Context() context.Context { return r.ctx }

// Decode unmarshals the opening message into v; a mismatch is a bad_request.
func (r *Request) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return agenterr.Wrap(agenterr.BadRequest, err, "bad %s request", r.Op)
	}
	return nil
}

// Stdin reads the STDIN frames of this stream; io.EOF after the host's empty
// STDIN frame, another error once the session is over.
func (r *Request) Stdin() io.Reader { return r.stdin }

// DiscardStdin drops all STDIN frames of this stream, now and later.
func (r *Request) DiscardStdin() { r.stdin.abandon() }

// Controls delivers the CONTROL messages the host sends on this stream while
// the request runs. Messages beyond a small buffer are dropped.
func (r *Request) Controls() <-chan Control { return r.controls }

// Send writes data frames of kind, splitting b into frames of at most 1 MiB.
// An empty b sends one empty frame (end of file).
func (r *Request) Send(kind protocol.Kind, b []byte) error {
	for {
		n := min(len(b), protocol.MaxPayload)
		if err := r.writer.WriteFrame(kind, r.Stream, b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if len(b) == 0 {
			return nil
		}
	}
}

// Event sends {"type":"event", ...fields of v}.
func (r *Request) Event(v any) error {
	payload, err := protocol.WithType("event", v)
	if err != nil {
		return err
	}
	return r.writer.WriteFrame(protocol.KindControl, r.Stream, payload)
}

// AfterReply runs fn once the final message has been written (e.g. power off
// only after the host has its answer).
func (r *Request) AfterReply(fn func()) {
	r.mu.Lock()
	r.afterReply = append(r.afterReply, fn)
	r.mu.Unlock()
}

func (r *Request) deliver(c Control) {
	select {
	case r.controls <- c:
	default:
	}
}

// finish writes the final message and runs the AfterReply hooks.
func (r *Request) finish(result any, err error) {
	r.stdin.abandon()
	var payload []byte
	if err != nil {
		payload = protocol.ErrorMessage(string(agenterr.CodeOf(err)), err.Error())
	} else if payload, err = protocol.WithType("result", result); err != nil {
		payload = protocol.ErrorMessage(string(agenterr.Internal), "cannot encode result: "+err.Error())
	}
	_ = r.writer.WriteFrame(protocol.KindControl, r.Stream, payload)
	r.mu.Lock()
	hooks := r.afterReply
	r.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}
