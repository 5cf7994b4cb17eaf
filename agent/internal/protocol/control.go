package protocol

import (
	"encoding/json"
	"fmt"
)

// Op is the part of every host→agent CONTROL message the dispatcher needs.
type Op struct {
	Op string `json:"op"`
}

// ParseOp returns the op of a CONTROL payload, or "" when it has none.
func ParseOp(payload []byte) string {
	var op Op
	if json.Unmarshal(payload, &op) != nil {
		return ""
	}
	return op.Op
}

// MarshalControl marshals v and checks that the result is a JSON object that
// fits in one frame.
func MarshalControl(v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 || payload[0] != '{' {
		return nil, fmt.Errorf("protocol: control message is not a JSON object: %T", v)
	}
	if len(payload) > MaxPayload {
		return nil, ErrFrameTooLarge
	}
	return payload, nil
}

// WithType marshals v (a struct or map, or nil for no fields) and puts
// "type":typ first, e.g. WithType("result", execResult{...}).
func WithType(typ string, v any) ([]byte, error) {
	head := `{"type":` + quote(typ)
	if v == nil {
		return []byte(head + "}"), nil
	}
	body, err := MarshalControl(v)
	if err != nil {
		return nil, err
	}
	if len(body) == 2 { // "{}"
		return []byte(head + "}"), nil
	}
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head...)
	out = append(out, ',')
	out = append(out, body[1:]...)
	if len(out) > MaxPayload {
		return nil, ErrFrameTooLarge
	}
	return out, nil
}

// ErrorMessage returns the payload of {"type":"error","code":…,"message":…}.
func ErrorMessage(code, message string) []byte {
	payload, err := WithType("error", struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, truncateString(message, 4096)})
	if err != nil {
		return []byte(`{"type":"error","code":"internal","message":"unencodable error"}`)
	}
	return payload
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func truncateString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
