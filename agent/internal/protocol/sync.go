package protocol

import "io"

// ScanSync consumes bytes from r up to and including the first SyncMarker and
// returns how many bytes came before it. It holds no more than the marker's
// length in state, however much garbage precedes the marker.
func ScanSync(r io.ByteReader) (skipped int64, err error) {
	matched := 0
	var consumed int64
	for {
		b, err := r.ReadByte()
		if err != nil {
			return consumed - int64(matched), err
		}
		consumed++
		matched = advanceSync(matched, b)
		if matched == len(SyncMarker) {
			return consumed - int64(len(SyncMarker)), nil
		}
	}
}

// advanceSync is one step of a KMP matcher for SyncMarker: given how many
// marker bytes matched so far and the next byte, it returns the new count.
func advanceSync(matched int, b byte) int {
	for {
		if SyncMarker[matched] == b {
			return matched + 1
		}
		if matched == 0 {
			return 0
		}
		matched = syncFailure[matched-1]
	}
}

// syncFailure[i] is the length of the longest proper border of SyncMarker[:i+1].
var syncFailure = func() []int {
	f := make([]int, len(SyncMarker))
	k := 0
	for i := 1; i < len(SyncMarker); i++ {
		for k > 0 && SyncMarker[i] != SyncMarker[k] {
			k = f[k-1]
		}
		if SyncMarker[i] == SyncMarker[k] {
			k++
		}
		f[i] = k
	}
	return f
}()
