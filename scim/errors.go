package scim

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

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
}

// errorBody is a SCIM error response (RFC 7644 §3.12).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds: about as
// long as Redis takes to restart or a replica to be promoted.
const retryAfterUnavailable = "5"

// statusClientClosedRequest is the status of a request whose client left
// before the answer (nginx's 499): no one reads it, but the access log and
// the metrics tell it from a failure of the server.
const statusClientClosedRequest = 499

// writeError answers err as a SCIM error. A domain [resources.Error] is shown to
// the client; anything else is logged with its cause and answered as a bare 500.
// A 503 (the store or the mail server is unavailable) says when to retry and
// logs its cause, which the client is not shown. The cancellation of a request
// whose client left is no failure of the server: it is answered 499, and only
// the access log shows it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		writeStatus(w, statusClientClosedRequest, "", "the client closed the request")
		return
	}
	var e resources.Error
	if errors.As(err, &e) {
		kind, ok := errorKinds[e.Code]
		if ok {
			if kind.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", retryAfterUnavailable) // RFC 9110 §10.2.3
				log.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", kind.status, "err", err)
			}
			writeStatus(w, kind.status, kind.scimType, e.Detail)
			return
		}
	}
	log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeStatus(w, http.StatusInternalServerError, "", "internal error; the server logged the cause")
}

// writeStatus writes a SCIM error with an explicit status.
func writeStatus(w http.ResponseWriter, status int, scimType, detail string) {
	writeJSON(w, status, errorBody{
		Schemas:  []string{schemas.ErrorURN},
		Status:   strconv.Itoa(status),
		ScimType: scimType,
		Detail:   detail,
	})
}
