package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
)

const contentType = "application/scim+json"

// writeJSON writes v as a SCIM JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errTooLarge reports a request body over the configured limit.
var errTooLarge = errors.New("request body too large")

// readBody reads a request body, enforcing the content type (RFC 7644 §3.1:
// application/scim+json; application/json is accepted too, Okta sends it).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != contentType && mt != "application/json") {
			return nil, errUnsupportedMedia
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, resources.Errorf(resources.InvalidSyntax, "could not read the request body: %v", err)
	}
	return data, nil
}

var errUnsupportedMedia = errors.New("unsupported media type")

// decodeObject decodes a JSON object body.
func decodeObject(data []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil || m == nil {
		msg := "the request body must be a JSON object"
		if err != nil {
			msg += ": " + strings.TrimPrefix(err.Error(), "json: ")
		}
		return nil, resources.Errorf(resources.InvalidSyntax, "%s", msg)
	}
	if dec.More() {
		return nil, resources.Errorf(resources.InvalidSyntax, "the request body must hold exactly one JSON object")
	}
	return m, nil
}
