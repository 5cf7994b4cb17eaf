// Package archive moves file trees in and out of the guest as tar streams.
//
// Extract is written for hostile input: it never lets an entry, or a link it
// creates, reach outside the destination directory, and it never follows a
// symlink that already exists under the destination. Create archives a file or
// a directory tree without following symlinks.
package archive

// Defaults applied to zero fields of Limits.
const (
	DefaultMaxBytes   int64 = 4 << 30
	DefaultMaxEntries       = 1 << 20
	DefaultMaxPathLen       = 4096
)

// Limits bounds an extraction. A zero field takes its default.
type Limits struct {
	// MaxBytes bounds the total size of regular file contents.
	MaxBytes int64
	// MaxEntries bounds the number of tar entries.
	MaxEntries int
	// MaxPathLen bounds the length of an entry name and of a link target.
	MaxPathLen int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxPathLen <= 0 {
		l.MaxPathLen = DefaultMaxPathLen
	}
	return l
}

// Result counts what an Extract or Create handled: tar entries, and bytes of
// regular file contents.
type Result struct {
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Kind is "file" or "directory" for Create (the kind of the archived path;
	// a symlink counts as a file), empty for Extract.
	Kind string `json:"kind,omitempty"`
}
