package scim

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// errorKinds is the one table that maps a domain error code to its HTTP status
// and scimType (RFC 7644 §3.12, Table 9).
var errorKinds = map[resources.Code]struct {
	status   int
	scimType string
}{
	resources.NotFound:             {http.StatusNotFound, ""},
	resources.Uniqueness:           {http.StatusConflict, "uniqueness"},
	resources.Mutability:           {http.StatusBadRequest, "mutability"},
	resources.InvalidValue:         {http.StatusBadRequest, "invalidValue"},
	resources.InvalidSyntax:        {http.StatusBadRequest, "invalidSyntax"},
	resources.InvalidFilter:        {http.StatusBadRequest, "invalidFilter"},
	resources.InvalidPath:          {http.StatusBadRequest, "invalidPath"},
	resources.NoTarget:             {http.StatusBadRequest, "noTarget"},
	resources.TooMany:              {http.StatusBadRequest, "tooMany"},
	resources.PreconditionFailed:   {http.StatusPreconditionFailed, ""},
	resources.Unauthorized:         {http.StatusUnauthorized, ""},
	resources.Forbidden:            {http.StatusForbidden, ""},
	resources.Conflict:             {http.StatusConflict, ""},
	resources.Unavailable:          {http.StatusServiceUnavailable, ""},
	resources.TooLarge:             {http.StatusRequestEntityTooLarge, ""},
	resources.UnsupportedMediaType: {http.StatusUnsupportedMediaType, ""},
	resources.InvalidCursor:        {http.StatusBadRequest, "invalidCursor"}, // RFC 9865 §2.1
	resources.ExpiredCursor:        {http.StatusBadRequest, "expiredCursor"},
	resources.InvalidCount:         {http.StatusBadRequest, "invalidCount"},
}

// errorBody is a SCIM error response (RFC 7644 §3.12).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// retryAfterUnavailable is the Retry-After of a 503: about as long as Redis
// takes to restart or a replica to be promoted.
const retryAfterUnavailable = 5 * time.Second

// statusClientClosedRequest is the status of a request whose client left
// before the answer (nginx's 499): no one reads it, but the access log and
// the metrics tell it from a failure of the server.
const statusClientClosedRequest = 499

// protocolError is an error of the protocol, not of the domain: a status no
// domain [resources.Code] names (405, 429, 501), with the detail a client
// reads and, for a 429, how long it must wait.
type protocolError struct {
	status     int
	detail     string
	retryAfter time.Duration
}

func (e protocolError) Error() string { return e.detail }

// handlerFunc is an HTTP handler that returns its error instead of
// answering it, for [Handler.serve] to render. It returns an error only
// before it has written anything.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts f to http.Handler: an error it returns is answered by
// writeError.
func (h *Handler) serve(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			writeError(w, r, h.log, err)
		}
	})
}

// errorKind is how a client sees an error: its status, scimType and detail,
// and when to retry (0: no Retry-After).
type errorKind struct {
	status     int
	scimType   string
	detail     string
	retryAfter time.Duration
}

// classify maps err to what the client sees: a domain [resources.Error] by
// the errorKinds table, a [protocolError] as it is; anything else is a bare
// 500 whose cause only the log shows.
func classify(err error) errorKind {
	var pe protocolError
	if errors.As(err, &pe) {
		return errorKind{status: pe.status, detail: pe.detail, retryAfter: pe.retryAfter}
	}
	var e resources.Error
	if errors.As(err, &e) {
		if kind, ok := errorKinds[e.Code]; ok {
			k := errorKind{status: kind.status, scimType: kind.scimType, detail: e.Detail}
			if k.status == http.StatusServiceUnavailable {
				k.retryAfter = retryAfterUnavailable // RFC 9110 §10.2.3
			}
			return k
		}
	}
	return errorKind{status: http.StatusInternalServerError, detail: "internal error; the server logged the cause"}
}

// writeError answers err as a SCIM error (see classify). A 500 is logged
// with its cause, a 503 (the store or the mail server is unavailable) too,
// as a warning. The cancellation of a request whose client left is no
// failure of the server: it is answered 499, and only the access log shows
// it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		writeStatus(w, statusClientClosedRequest, "", "the client closed the request")
		return
	}
	k := classify(err)
	switch k.status {
	case http.StatusInternalServerError:
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		log.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", k.status, "err", err)
	}
	if k.retryAfter > 0 {
		// Whole seconds, at least one (RFC 9110 §10.2.3).
		w.Header().Set("Retry-After", strconv.Itoa(max(int(math.Ceil(k.retryAfter.Seconds())), 1)))
	}
	writeStatus(w, k.status, k.scimType, k.detail)
}

// writeStatus writes a SCIM error with an explicit status; only writeError
// and the last resort of a panic call it.
func writeStatus(w http.ResponseWriter, status int, scimType, detail string) {
	writeJSON(w, status, errorBody{
		Schemas:  []string{schemas.ErrorURN},
		Status:   strconv.Itoa(status),
		ScimType: scimType,
		Detail:   detail,
	})
}
