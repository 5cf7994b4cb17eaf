package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/protocol"
)

// echoStdin copies the request's STDIN back as STDOUT, then ends it with an empty frame.
func echoStdin(req *Request) (any, error) {
	buf := make([]byte, 7) // small reads: output interleaves with other streams
	for {
		n, err := req.Stdin().Read(buf)
		if n > 0 {
			if err := req.Send(protocol.KindStdout, buf[:n]); err != nil {
				return nil, err
			}
		}
		if err == io.EOF {
			return map[string]any{"stream": req.Stream}, req.Send(protocol.KindStdout, nil)
		}
		if err != nil {
			return nil, err
		}
	}
}

func TestHelloEchoesTheNonceAndAdvertises(t *testing.T) {
	h := serve(t, nil)
	if h.hello["type"] != "hello" || h.hello["nonce"] != "n-123" || h.hello["protocol_version"] != float64(protocol.Version) || h.hello["agent_version"] != "test" {
		t.Fatalf("hello: %v", h.hello)
	}
	if caps, _ := h.hello["capabilities"].([]any); len(caps) != 1 || caps[0] != "exec" {
		t.Fatalf("capabilities: %v", h.hello["capabilities"])
	}
}

func TestTheFirstFrameMustBeAHelloOnStreamZero(t *testing.T) {
	h := startRaw(t, nil)
	if err := h.w.WriteSyncFrame(protocol.KindControl, 1, []byte(`{"op":"hello","nonce":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.ended(5 * time.Second); err == nil || !strings.Contains(err.Error(), "not a hello") {
		t.Fatalf("Serve: %v", err)
	}
}

func TestAnOversizedNonceIsRefused(t *testing.T) {
	h := startRaw(t, nil)
	h.sendSync(`{"op":"hello","nonce":"` + strings.Repeat("n", maxNonce+1) + `"}`)
	if err := h.ended(5 * time.Second); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("Serve: %v", err)
	}
}

func TestStreamsAreMultiplexedWithoutMixingTheirData(t *testing.T) {
	h := serve(t, map[string]Handler{"cat": echoStdin})
	const streams = 8
	for s := uint32(1); s <= streams; s++ {
		h.control(s, `{"op":"cat"}`)
	}
	// Interleave STDIN across every stream, round after round.
	want := map[uint32]string{}
	for round := 0; round < 20; round++ {
		for s := uint32(1); s <= streams; s++ {
			chunk := fmt.Sprintf("<%d.%d>", s, round)
			want[s] += chunk
			h.stdin(s, []byte(chunk))
		}
	}
	for s := uint32(1); s <= streams; s++ {
		h.stdin(s, nil)
	}
	ids := make([]uint32, 0, streams)
	for s := uint32(1); s <= streams; s++ {
		ids = append(ids, s)
	}
	got := h.untilFinal(ids...)
	for s := uint32(1); s <= streams; s++ {
		var out bytes.Buffer
		frames := got[s]
		for _, f := range frames[:len(frames)-1] {
			if f.Kind != protocol.KindStdout {
				t.Fatalf("stream %d: unexpected %v frame", s, f.Kind)
			}
			out.Write(f.Payload)
		}
		last := frames[len(frames)-2]
		if len(last.Payload) != 0 {
			t.Fatalf("stream %d: no end-of-file frame before the result", s)
		}
		if out.String() != want[s] {
			t.Fatalf("stream %d got %q, want %q", s, out.String(), want[s])
		}
		if r := decode(t, frames[len(frames)-1].Payload); r["type"] != "result" || r["stream"] != float64(s) {
			t.Fatalf("stream %d result: %v", s, r)
		}
	}
}

func TestConcurrentRequestsDoNotWaitForEachOther(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	h := serve(t, map[string]Handler{
		"block": func(req *Request) (any, error) {
			running.Add(1)
			<-release
			return nil, nil
		},
		"quick": func(req *Request) (any, error) { return map[string]any{"n": req.Stream}, nil },
	})
	for s := uint32(1); s <= 10; s++ {
		h.control(s, `{"op":"block"}`)
	}
	// Answers to later requests (and to ping on stream 0) overtake the blocked ones.
	h.control(11, `{"op":"quick"}`)
	h.control(0, `{"op":"ping"}`)
	seen := map[uint32]bool{}
	for len(seen) < 2 {
		f := h.next()
		if !isFinal(f) || (f.Stream != 11 && f.Stream != 0) {
			t.Fatalf("unexpected frame on stream %d: %s", f.Stream, f.Payload)
		}
		seen[f.Stream] = true
	}
	if running.Load() != 10 {
		t.Fatalf("%d blocked handlers run at once, want 10", running.Load())
	}
	close(release)
	h.untilFinal(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
}

func TestStreamIDsOnlyGoUp(t *testing.T) {
	var calls atomic.Int32
	h := serve(t, map[string]Handler{"count": func(*Request) (any, error) {
		return map[string]any{"n": calls.Add(1)}, nil
	}})
	h.control(5, `{"op":"count"}`)
	h.untilFinal(5)
	// A CONTROL frame on a finished or lower stream id is late, not a new request.
	h.control(5, `{"op":"count"}`)
	h.control(3, `{"op":"count"}`)
	h.control(6, `{"op":"count"}`)
	got := h.untilFinal(6)
	if len(got) != 1 || calls.Load() != 2 {
		t.Fatalf("frames %v, %d calls; want only stream 6 answered", got, calls.Load())
	}
}

func TestUnknownOpsAndPanicsAnswerWithoutEndingTheSession(t *testing.T) {
	h := serve(t, map[string]Handler{"boom": func(*Request) (any, error) { panic("kaboom") }})
	h.control(1, `{"op":"nope"}`)
	h.control(2, `{"op":"boom"}`)
	h.control(0, `{"op":"exec"}`)
	got := h.untilFinal(1, 2, 0)
	for stream, code := range map[uint32]agenterr.Code{1: agenterr.Unsupported, 2: agenterr.Internal, 0: agenterr.BadRequest} {
		m := decode(t, got[stream][0].Payload)
		if m["type"] != "error" || m["code"] != string(code) {
			t.Fatalf("stream %d: %v, want error %s", stream, m, code)
		}
	}
	if m := decode(t, got[2][0].Payload); !strings.Contains(fmt.Sprint(m["message"]), "kaboom") {
		t.Fatalf("panic message: %v", m)
	}
	h.control(3, `{"op":"ping"}`)
	if m := decode(t, h.untilFinal(3)[3][0].Payload); m["type"] != "result" {
		t.Fatalf("ping after a panic: %v", m)
	}
}

func TestControlsReachTheRunningRequest(t *testing.T) {
	h := serve(t, map[string]Handler{"wait": func(req *Request) (any, error) {
		if err := req.Event(map[string]any{"event": "started"}); err != nil {
			return nil, err
		}
		c := <-req.Controls()
		return map[string]any{"got": c.Op}, nil
	}})
	h.control(1, `{"op":"wait"}`)
	if m := decode(t, h.next().Payload); m["type"] != "event" || m["event"] != "started" {
		t.Fatalf("event: %v", m)
	}
	h.control(1, `{"op":"signal","signal":"TERM"}`)
	if m := decode(t, h.untilFinal(1)[1][0].Payload); m["got"] != "signal" {
		t.Fatalf("result: %v", m)
	}
}

func TestAfterReplyRunsOnceTheAnswerIsOut(t *testing.T) {
	ran := make(chan struct{})
	h := serve(t, map[string]Handler{"bye": func(req *Request) (any, error) {
		req.AfterReply(func() { close(ran) })
		return nil, nil
	}})
	h.control(1, `{"op":"bye"}`)
	h.untilFinal(1)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the AfterReply hook did not run")
	}
}

// A host that disconnects mid-stream ends the session: handlers see their
// context cancelled and their stdin abandoned, nothing more is written, and
// Serve returns once they stopped.
func TestAHostDisconnectingMidStreamStopsItsRequests(t *testing.T) {
	var mu sync.Mutex
	var sendErr, stdinErr error
	started := make(chan struct{}, 2)
	h := serve(t, map[string]Handler{
		"stream": func(req *Request) (any, error) {
			started <- struct{}{}
			for req.Context().Err() == nil {
				if err := req.Send(protocol.KindStdout, []byte("tick")); err != nil {
					mu.Lock()
					sendErr = err
					mu.Unlock()
					break
				}
				time.Sleep(time.Millisecond)
			}
			<-req.Context().Done()
			return nil, nil
		},
		"read": func(req *Request) (any, error) {
			started <- struct{}{}
			_, err := io.ReadAll(req.Stdin())
			mu.Lock()
			stdinErr = err
			mu.Unlock()
			return nil, err
		},
	})
	h.control(1, `{"op":"stream"}`)
	h.control(2, `{"op":"read"}`)
	h.stdin(2, []byte("half of it"))
	<-started
	<-started
	h.next() // output is flowing
	h.conn.Close()
	if err := h.ended(handlerGrace - time.Second); err == nil {
		t.Fatal("Serve returned no error for a dropped connection")
	}
	mu.Lock()
	defer mu.Unlock()
	if stdinErr == nil || errors.Is(stdinErr, io.EOF) {
		t.Fatalf("a reader of a dropped session's stdin got %v, want an abandoned stdin", stdinErr)
	}
	if sendErr != nil && !errors.Is(sendErr, protocol.ErrClosed) && !strings.Contains(sendErr.Error(), "closed pipe") {
		t.Fatalf("send after the disconnect: %v", sendErr)
	}
}

func TestAPyrosyncMidSessionEndsItForTheNextOne(t *testing.T) {
	h := serve(t, nil)
	h.sendSync(`{"op":"hello","nonce":"again"}`)
	if err := h.ended(5 * time.Second); !errors.Is(err, ErrResync) {
		t.Fatalf("Serve: %v, want ErrResync", err)
	}
}

// header is a frame header as the host would send it, payload not included.
func header(length uint32, kind byte, stream uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	b = append(b, kind)
	return binary.BigEndian.AppendUint32(b, stream)
}

func TestFrameBounds(t *testing.T) {
	cases := []struct {
		name string
		send func(h *host)
		want error
	}{
		{"a header announcing more than 1 MiB", func(h *host) { h.raw(header(protocol.MaxPayload+1, byte(protocol.KindStdin), 1)) }, protocol.ErrFrameTooLarge},
		{"an unknown kind", func(h *host) { h.raw(header(0, 9, 1)) }, protocol.ErrUnknownKind},
		{"a control frame that is not a JSON object", func(h *host) { h.raw(append(header(2, byte(protocol.KindControl), 1), "[]"...)) }, protocol.ErrBadControl},
		{"a stream ending inside a frame", func(h *host) {
			h.raw(append(header(100, byte(protocol.KindStdin), 1), "short"...))
			h.conn.Close()
		}, protocol.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := serve(t, nil)
			c.send(h)
			if err := h.ended(5 * time.Second); !errors.Is(err, c.want) {
				t.Fatalf("Serve: %v, want %v", err, c.want)
			}
		})
	}
}

func TestAFullSizeRequestIsServedAndLargeOutputIsSplitIntoFrames(t *testing.T) {
	const extra = 10
	h := serve(t, map[string]Handler{"big": func(req *Request) (any, error) {
		return nil, req.Send(protocol.KindStdout, bytes.Repeat([]byte{'x'}, protocol.MaxPayload+extra))
	}})
	prefix := `{"op":"big","pad":"`
	pad := strings.Repeat("p", protocol.MaxPayload-len(prefix)-2)
	h.control(1, prefix+pad+`"}`)
	frames := h.untilFinal(1)[1]
	if len(frames) != 3 || len(frames[0].Payload) != protocol.MaxPayload || len(frames[1].Payload) != extra {
		sizes := []int{}
		for _, f := range frames {
			sizes = append(sizes, len(f.Payload))
		}
		t.Fatalf("frame sizes %v, want [%d %d final]", sizes, protocol.MaxPayload, extra)
	}
	if m := decode(t, frames[2].Payload); m["type"] != "result" {
		t.Fatalf("result: %v", m)
	}
}

// STDIN beyond what a handler has read is queued up to stdinLimit; past it the
// session reader waits (backpressure), and nothing is lost.
func TestStdinBackpressureLosesNothing(t *testing.T) {
	release := make(chan struct{})
	h := serve(t, map[string]Handler{"slow": func(req *Request) (any, error) {
		<-release
		n, err := io.Copy(io.Discard, req.Stdin())
		return map[string]any{"bytes": n}, err
	}})
	h.control(1, `{"op":"slow"}`)
	chunk := bytes.Repeat([]byte{'s'}, 256<<10)
	const chunks = 3 * stdinLimit / (256 << 10) // three times the queue
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		// Not h.stdin: t.Fatal is for the test's own goroutine.
		for i := 0; i < chunks; i++ {
			_ = h.w.WriteFrame(protocol.KindStdin, 1, chunk)
		}
		_ = h.w.WriteFrame(protocol.KindStdin, 1, nil)
	}()
	select {
	case <-sent:
		t.Fatal("the session took more STDIN than its queue while the handler read nothing")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	<-sent
	if m := decode(t, h.untilFinal(1)[1][0].Payload); m["bytes"] != float64(chunks*len(chunk)) {
		t.Fatalf("result: %v, want %d bytes", m, chunks*len(chunk))
	}
}
