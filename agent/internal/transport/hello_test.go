package transport

import (
	"bufio"
	"io"
	"testing"
	"time"

	"pyro-mcp/agent/internal/protocol"
)

// deadlineConn is what both a net.Conn and an *os.File offer the hello exchange.
type deadlineConn interface {
	io.ReadWriter
	SetDeadline(time.Time) error
}

// exchangeHello sends PYROSYNC and a hello with nonce, and fails the test
// unless the agent answers with PYROSYNC and a control frame within 5 s.
func exchangeHello(t *testing.T, c deadlineConn, nonce string) {
	t.Helper()
	w := protocol.NewWriter(c, nil)
	if err := w.WriteSyncFrame(protocol.KindControl, 0, []byte(`{"op":"hello","protocol_version":1,"nonce":"`+nonce+`"}`)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if _, err := protocol.ScanSync(br); err != nil {
		t.Fatal(err)
	}
	f, err := protocol.NewReader(br).ReadFrame()
	if err != nil || f.Kind != protocol.KindControl {
		t.Fatalf("hello: %v %v", f, err)
	}
}
