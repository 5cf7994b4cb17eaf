// Package agenterr defines the typed errors shared by the guest agent's
// libraries. Each error carries one of the protocol's error codes so the
// protocol layer can map any failure to {"type":"error","code":...}.
package agenterr

import (
	"errors"
	"fmt"
)

// Code is a protocol error code (see protocol/SPEC.md).
type Code string

// The protocol's error codes.
const (
	BadRequest  Code = "bad_request"
	NotFound    Code = "not_found"
	Exists      Code = "exists"
	IO          Code = "io"
	Unsupported Code = "unsupported"
	Limit       Code = "limit"
	Internal    Code = "internal"
)

// Error is an error with a protocol code. Err, when set, is the cause.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return e.Err.Error()
		}
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code, a formatted message and cause err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, Internal when
// err has none, and "" for a nil err.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}
