package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
)

func TestContextHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(scim.ContextHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	var got string
	h := scim.Observe(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = scim.RequestID(r.Context())
		log.WarnContext(r.Context(), "inside the handler")
		log.Warn("no context") // nothing to add
		log.WithGroup("g").WarnContext(context.Background(), "background")
	}))
	for _, c := range []struct{ name, header string }{{"client's id", "client-id-42"}, {"generated", ""}} {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			req := httptest.NewRequest("GET", "/x", nil)
			if c.header != "" {
				req.Header.Set("X-Request-Id", c.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			id := rec.Header().Get("X-Request-Id")
			if id == "" || c.header != "" && id != c.header || got != id {
				t.Fatalf("X-Request-Id = %q, RequestID(ctx) = %q, want the same (client's: %q)", id, got, c.header)
			}
			byMsg := map[string]map[string]any{}
			for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
				byMsg[m["msg"].(string)] = m
			}
			if m := byMsg["inside the handler"]; m == nil || m["request_id"] != id || m["component"] != "test" {
				t.Errorf("line logged with the request's context = %v, want request_id %q and component", m, id)
			}
			for _, msg := range []string{"no context", "background"} {
				if m := byMsg[msg]; m == nil || m["request_id"] != nil {
					t.Errorf("line %q = %v, want no request_id", msg, m)
				}
			}
		})
	}
	if scim.RequestID(context.Background()) != "" {
		t.Errorf("RequestID(context.Background()) is not empty")
	}
}
