package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorLogNamesTheRequest: the "request failed" line of a 500 carries the
// request's id, as the access line does, when the logger's handler is a
// ContextHandler (as serve builds it); each line names it once.
func TestErrorLogNamesTheRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(ContextHandler(slog.NewJSONHandler(&buf, nil)))
	h := Observe(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, errors.New("redis: connection refused"))
	}))
	req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
	req.Header.Set("X-Request-Id", "req-errors-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "redis") {
		t.Fatalf("answer = %d %s, want a 500 without the cause", rec.Code, rec.Body)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		msg, _ := m["msg"].(string)
		seen[msg] = true
		if m["request_id"] != "req-errors-1" || strings.Count(l, `"request_id"`) != 1 {
			t.Errorf("log line %s: want request_id \"req-errors-1\" once", l)
		}
	}
	if !seen["request failed"] || !seen["request"] {
		t.Errorf("log = %q, want a \"request failed\" line and an access line", lines)
	}
}

// TestClientGoneIsNoServerError: work stopped because the client left is
// answered 499 and logged by the access line alone, not as a failure.
func TestClientGoneIsNoServerError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "PATCH", "/scim/v2/Users/u1", nil)
	rec := httptest.NewRecorder()
	writeError(rec, req, log, fmt.Errorf("patch user u1: %w", context.Canceled))
	if rec.Code != statusClientClosedRequest {
		t.Errorf("writeError(context.Canceled) with the client gone: status %d, want %d", rec.Code, statusClientClosedRequest)
	}
	if buf.Len() != 0 {
		t.Errorf("writeError(context.Canceled) with the client gone logged %s, want nothing", buf.String())
	}

	// A cancellation the client did not cause is the server's failure.
	rec = httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("PATCH", "/scim/v2/Users/u1", nil), log, context.Canceled)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(buf.String(), "request failed") {
		t.Errorf("writeError(context.Canceled) with the client there: status %d, log %q; want 500 and a \"request failed\" line", rec.Code, buf.String())
	}
}
