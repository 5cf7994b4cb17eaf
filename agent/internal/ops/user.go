package ops

import (
	"syscall"

	"pyro-mcp/agent/internal/archive"
)

// Credential is the identity to hand to exec.Cmd's SysProcAttr: nil (root,
// the agent's own) for a nil user, so callers set it unconditionally.
func (u *ProcessUser) Credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	groups := u.Groups
	if groups == nil {
		// A nil list would keep the agent's (root's) supplementary groups.
		groups = []uint32{}
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}
}

// FileOwner is who the files an op writes for a workspace's user end up
// owned by (an OCI image's resolved User); nil leaves them root's.
type FileOwner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

func (o *FileOwner) archiveOwner() *archive.Owner {
	if o == nil {
		return nil
	}
	return &archive.Owner{UID: o.UID, GID: o.GID}
}
