package ops

import (
	"bufio"
	"io"
	"path/filepath"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/archive"
	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/session"
)

// archiveChunk is the size of the STDOUT frames of get_archive.
const archiveChunk = 256 << 10

func absPath(field, p string) error {
	if p == "" || !filepath.IsAbs(p) {
		return agenterr.New(agenterr.BadRequest, "%s must be an absolute path, got %q", field, p)
	}
	return nil
}

// PutArchive extracts the tar the host streams as STDIN frames: put_archive.
func PutArchive(req *session.Request) (any, error) {
	var params struct {
		Dest     string     `json:"dest"`
		MaxBytes int64      `json:"max_bytes"`
		Owner    *FileOwner `json:"owner"`
	}
	if err := req.Decode(&params); err != nil {
		return nil, err
	}
	if err := absPath("dest", params.Dest); err != nil {
		return nil, err
	}
	if params.MaxBytes < 0 {
		return nil, agenterr.New(agenterr.BadRequest, "max_bytes must not be negative")
	}
	res, err := archive.ExtractAs(req.Stdin(), params.Dest, archive.Limits{MaxBytes: params.MaxBytes}, params.Owner.archiveOwner())
	if err != nil {
		return nil, err
	}
	// The tar's end-of-archive blocks may leave padding unread; consume up to
	// the host's empty STDIN frame so the reply follows the whole upload.
	_, _ = io.Copy(io.Discard, req.Stdin())
	return res, nil
}

// GetArchive streams a tar of a path as STDOUT frames: get_archive.
func GetArchive(req *session.Request) (any, error) {
	var params struct {
		Path     string `json:"path"`
		MaxBytes int64  `json:"max_bytes"`
	}
	if err := req.Decode(&params); err != nil {
		return nil, err
	}
	if err := absPath("path", params.Path); err != nil {
		return nil, err
	}
	if params.MaxBytes < 0 {
		return nil, agenterr.New(agenterr.BadRequest, "max_bytes must not be negative")
	}
	req.DiscardStdin()
	out := bufio.NewWriterSize(frameWriter{req}, archiveChunk)
	res, err := archive.Create(out, params.Path, params.MaxBytes)
	if err != nil {
		return nil, err
	}
	if err := out.Flush(); err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "send archive")
	}
	if err := req.Send(protocol.KindStdout, nil); err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "send archive")
	}
	return res, nil
}

// frameWriter writes STDOUT frames on a request's stream.
type frameWriter struct{ req *session.Request }

func (w frameWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.req.Send(protocol.KindStdout, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
