// Package session runs protocol sessions: the PYROSYNC handshake, hello, and
// the multiplexing of requests over one byte stream (protocol/SPEC.md).
package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/protocol"
)

// maxNonce bounds the hello nonce the agent echoes.
const maxNonce = 256

// handlerGrace is how long a finished session waits for its handlers, which
// were told to stop (execs are killed), before it returns anyway.
const handlerGrace = 5 * time.Second

// Server holds what every session of one agent shares.
type Server struct {
	// AgentVersion goes into hello.
	AgentVersion string
	// Handlers maps an op to its handler. hello and ping are built in.
	Handlers map[string]Handler
	// Capabilities lists what the hello advertises.
	Capabilities []string
	// Logf logs one line (nil: stderr).
	Logf func(format string, args ...any)
}

// Options are per transport.
type Options struct {
	// WriteLock serialises writes of sessions that share one byte stream over
	// time (a serial port). Nil: a lock per session.
	WriteLock *sync.Mutex
	// OnSynced is called once the host's PYROSYNC has been read.
	OnSynced func()
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
		return
	}
	fmt.Fprintf(os.Stderr, "pyro-agent: "+format+"\n", args...)
}

// Serve runs one session on r and w until the host disconnects or breaks the
// protocol (the returned error says which; io.EOF is a clean disconnect), or
// ctx ends. When it returns, every request of the session has been told to
// stop and nothing more is written to w.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	sess := &session{
		srv:      s,
		ctx:      ctx,
		writer:   protocol.NewWriter(w, opts.WriteLock),
		requests: map[uint32]*Request{},
	}
	stopWatch := context.AfterFunc(ctx, sess.writer.Close)
	defer stopWatch()
	defer cancel()

	br := bufio.NewReaderSize(r, 64<<10)
	if _, err := protocol.ScanSync(br); err != nil {
		return err
	}
	if opts.OnSynced != nil {
		opts.OnSynced()
	}
	err := sess.run(&resyncReader{br: br, fr: protocol.NewReader(br)})
	cancel()
	sess.end()
	return err
}

// ErrResync ends a session whose stream now starts a new one: the next bytes
// are a PYROSYNC, left unread for the next session on the same reader. On a
// serial port a host that reconnects quickly can write its PYROSYNC before
// the agent has seen the old connection's end.
var ErrResync = errors.New("the host started a new session")

type frameReader interface {
	ReadFrame() (protocol.Frame, error)
}

// resyncReader reads frames, but stops at a PYROSYNC instead of consuming it
// as a frame header. No frame header can look like it: its length field would
// be far above MaxPayload.
type resyncReader struct {
	br *bufio.Reader
	fr *protocol.Reader
}

func (r *resyncReader) ReadFrame() (protocol.Frame, error) {
	// Every frame is longer than the marker, so peeking it never waits for more than a frame would.
	if head, err := r.br.Peek(len(protocol.SyncMarker)); err == nil && bytes.Equal(head, protocol.SyncMarker) {
		return protocol.Frame{}, ErrResync
	}
	return r.fr.ReadFrame()
}

type session struct {
	srv    *Server
	ctx    context.Context
	writer *protocol.Writer

	mu         sync.Mutex
	requests   map[uint32]*Request
	lastStream uint32
	wg         sync.WaitGroup
}

func (s *session) run(fr frameReader) error {
	if err := s.hello(fr); err != nil {
		return err
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f.Kind {
		case protocol.KindControl:
			s.control(f.Stream, f.Payload)
		case protocol.KindStdin:
			if req := s.active(f.Stream); req != nil {
				req.stdin.push(f.Payload)
			}
			// STDIN for a finished or unknown stream is dropped: the host may
			// still be sending when a process exits.
		default:
			// STDOUT/STDERR are agent→host only; a host sending them is ignored.
		}
	}
}

type helloRequest struct {
	Op              string `json:"op"`
	ProtocolVersion int    `json:"protocol_version"`
	Nonce           string `json:"nonce"`
	Client          string `json:"client"`
}

type helloReply struct {
	ProtocolVersion int      `json:"protocol_version"`
	AgentVersion    string   `json:"agent_version"`
	Nonce           string   `json:"nonce"`
	Capabilities    []string `json:"capabilities"`
	Pid             int      `json:"pid"`
	Hostname        string   `json:"hostname"`
}

func (s *session) hello(fr frameReader) error {
	f, err := fr.ReadFrame()
	if err != nil {
		return err
	}
	var h helloRequest
	if f.Kind != protocol.KindControl || f.Stream != 0 || json.Unmarshal(f.Payload, &h) != nil || h.Op != "hello" {
		return errors.New("session: the first frame is not a hello on stream 0")
	}
	if len(h.Nonce) > maxNonce {
		return fmt.Errorf("session: hello nonce longer than %d bytes", maxNonce)
	}
	hostname, _ := os.Hostname()
	reply, err := protocol.WithType("hello", helloReply{
		ProtocolVersion: protocol.Version,
		AgentVersion:    s.srv.AgentVersion,
		Nonce:           h.Nonce,
		Capabilities:    append([]string{}, s.srv.Capabilities...),
		Pid:             os.Getpid(),
		Hostname:        hostname,
	})
	if err != nil {
		return err
	}
	return s.writer.WriteSyncFrame(protocol.KindControl, 0, reply)
}

func (s *session) active(stream uint32) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[stream]
}

func (s *session) control(stream uint32, payload []byte) {
	op := protocol.ParseOp(payload)
	if stream == 0 {
		s.sessionOp(op)
		return
	}
	if req := s.active(stream); req != nil {
		req.deliver(Control{Op: op, Payload: payload})
		return
	}
	s.mu.Lock()
	fresh := stream > s.lastStream
	if fresh {
		s.lastStream = stream
	}
	s.mu.Unlock()
	if fresh {
		s.start(stream, op, payload)
	}
	// A CONTROL frame on a finished stream is late (a signal racing the
	// exit): dropped.
}

func (s *session) sessionOp(op string) {
	var payload []byte
	switch op {
	case "ping":
		payload = []byte(`{"type":"result"}`)
	default:
		payload = protocol.ErrorMessage(string(agenterr.BadRequest), fmt.Sprintf("op %q does not belong on stream 0", op))
	}
	_ = s.writer.WriteFrame(protocol.KindControl, 0, payload)
}

func (s *session) start(stream uint32, op string, payload []byte) {
	req := newRequest(s.ctx, s.writer, stream, op, payload)
	handler := s.srv.Handlers[op]
	if op == "ping" {
		handler = func(*Request) (any, error) { return nil, nil }
	}
	if handler == nil {
		req.finish(nil, agenterr.New(agenterr.Unsupported, "unknown op %q", op))
		return
	}
	s.mu.Lock()
	s.requests[stream] = req
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		result, err := runHandler(handler, req)
		s.mu.Lock()
		delete(s.requests, stream)
		s.mu.Unlock()
		req.finish(result, err)
	}()
}

// runHandler turns a handler's panic into an internal error, so one bad
// request cannot take the agent (and with it the machine) down.
func runHandler(h Handler, req *Request) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = agenterr.New(agenterr.Internal, "%s: panic: %v", req.Op, p)
		}
	}()
	return h(req)
}

// end stops every request of a finished session and waits a bounded time for
// their handlers.
func (s *session) end() {
	s.writer.Close()
	s.mu.Lock()
	for _, req := range s.requests {
		req.stdin.abandon()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(handlerGrace):
		s.srv.logf("some requests did not stop within %s of the session's end", handlerGrace)
	}
}
