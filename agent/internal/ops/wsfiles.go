package ops

import (
	"bufio"
	"io"

	"pyro-mcp/agent/internal/agenterr"
	"pyro-mcp/agent/internal/protocol"
	"pyro-mcp/agent/internal/session"
	"pyro-mcp/agent/internal/wsfiles"
)

// Bounds of the file ops: the host asks for less; these stop a confused host.
const (
	maxFileBytes   = 64 << 20
	maxListEntries = 100_000
	// A listing is one result frame (1 MiB): leave room for the envelope.
	maxListBytes = 900 << 10
)

type fileTarget struct {
	// Owner, when set, is given what the op creates (a workspace's image User).
	Owner *FileOwner `json:"owner"`
	Root  string     `json:"root"`
	Path  string     `json:"path"`
}

func openTarget(req *session.Request, params any, t *fileTarget) (*wsfiles.Root, error) {
	if err := req.Decode(params); err != nil {
		return nil, err
	}
	if err := wsfiles.CheckRel(t.Path); err != nil {
		return nil, err
	}
	root, err := wsfiles.OpenRoot(t.Root)
	if err == nil && t.Owner != nil {
		root.SetOwner(t.Owner.UID, t.Owner.GID)
	}
	return root, err
}

func byteBound(field string, n, max int64) error {
	if n < 0 || n > max {
		return agenterr.New(agenterr.BadRequest, "%s must be between 0 and %d", field, max)
	}
	return nil
}

// FileList lists a directory beneath a root: file_list.
func FileList(req *session.Request) (any, error) {
	var p struct {
		fileTarget
		Recursive  bool `json:"recursive"`
		MaxEntries int  `json:"max_entries"`
	}
	root, err := openTarget(req, &p, &p.fileTarget)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	req.DiscardStdin()
	if p.MaxEntries <= 0 || p.MaxEntries > maxListEntries {
		p.MaxEntries = maxListEntries
	}
	entries, truncated, err := root.List(p.Path, p.Recursive, wsfiles.ListLimits{MaxEntries: p.MaxEntries, MaxBytes: maxListBytes})
	if err != nil {
		return nil, err
	}
	return map[string]any{"path": p.Path, "entries": entries, "truncated": truncated}, nil
}

// FileRead streams at most max_bytes of a file beneath a root as STDOUT frames: file_read.
func FileRead(req *session.Request) (any, error) {
	var p struct {
		fileTarget
		MaxBytes int64 `json:"max_bytes"`
	}
	root, err := openTarget(req, &p, &p.fileTarget)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	req.DiscardStdin()
	if err := byteBound("max_bytes", p.MaxBytes, maxFileBytes); err != nil {
		return nil, err
	}
	out := bufio.NewWriterSize(frameWriter{req}, archiveChunk)
	res, err := root.Read(p.Path, p.MaxBytes, out)
	if err != nil {
		return nil, err
	}
	if err := out.Flush(); err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "send file")
	}
	if err := req.Send(protocol.KindStdout, nil); err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "send file")
	}
	return res, nil
}

// readStdin reads the whole upload, refusing more than max bytes before
// anything is written.
func readStdin(req *session.Request, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(req.Stdin(), max+1))
	if err != nil {
		return nil, agenterr.Wrap(agenterr.IO, err, "receive content")
	}
	if int64(len(data)) > max {
		req.DiscardStdin()
		return nil, agenterr.New(agenterr.Limit, "the content is larger than the limit of %d bytes", max)
	}
	return data, nil
}

// FileWrite replaces a file beneath a root with the STDIN upload: file_write.
func FileWrite(req *session.Request) (any, error) {
	var p struct {
		fileTarget
		MaxBytes int64 `json:"max_bytes"`
	}
	root, err := openTarget(req, &p, &p.fileTarget)
	if err != nil {
		req.DiscardStdin()
		return nil, err
	}
	defer root.Close()
	if err := byteBound("max_bytes", p.MaxBytes, maxFileBytes); err != nil {
		req.DiscardStdin()
		return nil, err
	}
	data, err := readStdin(req, p.MaxBytes)
	if err != nil {
		return nil, err
	}
	return root.Write(p.Path, data)
}

// FileApply makes a set of file changes beneath a root, all or none: file_apply.
func FileApply(req *session.Request) (any, error) {
	var p struct {
		Root    string           `json:"root"`
		Changes []wsfiles.Change `json:"changes"`
		Owner   *FileOwner       `json:"owner"`
	}
	if err := req.Decode(&p); err != nil {
		req.DiscardStdin()
		return nil, err
	}
	root, err := wsfiles.OpenRoot(p.Root)
	if err != nil {
		req.DiscardStdin()
		return nil, err
	}
	defer root.Close()
	if p.Owner != nil {
		root.SetOwner(p.Owner.UID, p.Owner.GID)
	}
	data, err := readStdin(req, maxFileBytes)
	if err != nil {
		return nil, err
	}
	if err := root.Apply(p.Changes, data); err != nil {
		return nil, err
	}
	return map[string]any{"changes": len(p.Changes)}, nil
}
