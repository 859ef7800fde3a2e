package resources

import (
	"errors"
	"fmt"
)

// Code classifies an [Error]. The codes follow RFC 7644 §3.12; package scim maps
// each to exactly one HTTP status and scimType.
type Code int

// Error codes.
const (
	NotFound             Code = iota + 1 // 404
	Uniqueness                           // 409 uniqueness
	Mutability                           // 400 mutability
	InvalidValue                         // 400 invalidValue
	InvalidSyntax                        // 400 invalidSyntax
	InvalidFilter                        // 400 invalidFilter
	InvalidPath                          // 400 invalidPath
	NoTarget                             // 400 noTarget
	TooMany                              // 400 tooMany
	PreconditionFailed                   // 412
	Unauthorized                         // 401
	Forbidden                            // 403
	Conflict                             // 409, no scimType: lost too many write races, or a state that forbids the request
	Unavailable                          // 503: a service scimd depends on (the store, the mail server) is unavailable; retry later
	TooLarge                             // 413: the request asks for more work than one request may (PATCH operations, body size); split it
	UnsupportedMediaType                 // 415: the request body is not JSON
	InvalidCursor                        // 400 invalidCursor (RFC 9865 §2.1): a cursor this server did not issue for this query
	ExpiredCursor                        // 400 expiredCursor (RFC 9865 §2.1): a cursor older than its timeout
	InvalidCount                         // 400 invalidCount (RFC 9865 §2.1): a cursor page's count outside 1..maxPageSize
)

// Error is an error a client may see: a code and a detail a person can act on.
// It never carries secrets. Return it by value.
type Error struct {
	Code   Code
	Detail string
}

// Error implements error.
func (e Error) Error() string { return e.Detail }

// Errorf returns an [Error] with the given code and a formatted detail.
func Errorf(code Code, format string, args ...any) Error {
	return Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the [Code] of err if it is (or wraps) an [Error], else 0.
func ErrorCode(err error) Code {
	var e Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// ErrVersionConflict is returned by a store when a conditional write finds that
// the resource changed since it was read. Callers retry, or report
// [PreconditionFailed] when the client asked for a specific version.
var ErrVersionConflict = errors.New("version conflict")

// ErrOutcomeUnknown is, to errors.Is, the error of a write that was sent to a
// store whose answer was lost (a timeout, a broken connection): the change
// may or may not have been made. Its [Error] is [Unavailable]; a page for
// people says that the change may have been made, not that nothing was.
var ErrOutcomeUnknown = errors.New("the outcome of the write is unknown")
