package services

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
)

// Logs is the tail of a service's output.
type Logs struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// tailFile returns the last n lines of the file at path, reading at most
// maxBytes from its end. A missing file reads as empty.
func tailFile(path string, n int, maxBytes int64) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	start := max(0, st.Size()-maxBytes)
	buf := make([]byte, st.Size()-start)
	k, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	buf = buf[:k]
	if start > 0 { // the first line is cut; drop it
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	// Walk back over n line ends, not counting a final one.
	end := len(buf)
	if end > 0 && buf[end-1] == '\n' {
		end--
	}
	cut := 0
	for i, lines := end-1, 0; i >= 0; i-- {
		if buf[i] == '\n' {
			lines++
			if lines == n {
				cut = i + 1
				break
			}
		}
	}
	return string(buf[cut:]), nil
}
