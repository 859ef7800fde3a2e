package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
)

// TestRunRedisDownAnswers503: with Redis gone, requests that need it answer
// 503 with Retry-After and a SCIM error that says to retry, never internal
// text, whether the token was verified before (cached) or not; /Me too; and
// the log names the request of each failure.
func TestRunRedisDownAnswers503(t *testing.T) {
	url, stop := redistest.StartStoppable(t)
	const token, other = "redis-down-token-123456", "redis-down-second-token-1"
	base, _, logs := startLogged(t, map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": token})
	if status, body := call(t, "GET", base+"/scim/v2/Users", token, ""); status != http.StatusOK {
		t.Fatalf("GET /Users with Redis up = %d %v", status, body)
	}
	stop()

	get := func(path string, auth func(*http.Request)) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		auth(req)
		req.Header.Set("X-Request-Id", "redis-down"+strings.ReplaceAll(path, "/", "-"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	for _, c := range []struct {
		name, path string
		auth       func(*http.Request)
	}{
		{"a verified token", "/scim/v2/Users", bearer(token)},
		{"a token to verify", "/scim/v2/Groups", bearer(other)},
		{"a customer", "/t/default/scim/v2/Me", func(r *http.Request) { r.SetBasicAuth("jane@example.com", "some-Passw0rd-1") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := get(c.path, c.auth)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]any
			_ = json.Unmarshal(raw, &body)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
				body["status"] != "503" || body["detail"] != "the store is unavailable; retry later" {
				t.Errorf("GET %s with Redis down = %d, Retry-After %q, %s; want 503, Retry-After and a SCIM error saying to retry",
					c.path, resp.StatusCode, resp.Header.Get("Retry-After"), raw)
			}
			for _, internal := range []string{"dial", "refused", "127.0.0.1", "redis:"} {
				if strings.Contains(string(raw), internal) {
					t.Errorf("the answer shows internal text %q: %s", internal, raw)
				}
			}
		})
	}
	resp := get("/readyz", func(*http.Request) {})
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Redis down = %d, want 503", resp.StatusCode)
	}
	for _, id := range []string{"redis-down-scim-v2-Users", "redis-down-readyz"} {
		if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
			t.Errorf("no log line names request %s:\n%s", id, logs.String())
		}
	}
}
