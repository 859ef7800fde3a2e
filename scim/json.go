package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
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

// readBody reads a request body, enforcing the content type (RFC 7644 §3.1:
// application/scim+json; application/json is accepted too, Okta sends it).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != contentType && mt != "application/json") {
			return nil, resources.Errorf(resources.UnsupportedMediaType, "send the body as application/scim+json (or application/json)")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, resources.Errorf(resources.TooLarge, "the request body exceeds %d bytes", limit)
		}
		return nil, resources.Errorf(resources.InvalidSyntax, "could not read the request body: %v", err)
	}
	return data, nil
}

// decodeObject decodes a JSON object body.
func decodeObject(data []byte) (map[string]any, error) {
	// A body that is one object, as nearly all are, decodes with
	// json.Unmarshal, which reads data in place where a Decoder copies it
	// into a buffer of its own. Whatever Unmarshal refuses (a body that is
	// no object, or has more after it, which Unmarshal calls a syntax error)
	// is decoded again by the Decoder below, whose errors say what is wrong.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err == nil && m != nil {
		return m, nil
	}
	m = nil
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil || m == nil {
		msg := "the request body must be a JSON object"
		if err != nil {
			msg += ": " + schemas.JSONProblem(err)
		}
		return nil, resources.Errorf(resources.InvalidSyntax, "%s", msg)
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, resources.Errorf(resources.InvalidSyntax, "the request body must hold exactly one JSON object: there is more after it, at byte %d", dec.InputOffset()+1)
	}
	return m, nil
}
