package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/internal/logtest"
)

// start runs scimd on a free port and returns its base URL; the server stops,
// gracefully, when the test ends.
func start(t *testing.T, env map[string]string, args ...string) (base string, stdout *logtest.Buffer) {
	t.Helper()
	base, stdout, _ = startLogged(t, env, args...)
	return base, stdout
}

// startLogged is start that also keeps the server's log (stderr).
func startLogged(t *testing.T, env map[string]string, args ...string) (base string, stdout, stderr *logtest.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &logtest.Buffer{}, &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, stdout, stderr)
	}()
	exited := false
	t.Cleanup(func() {
		cancel()
		if exited {
			return
		}
		if err := <-done; err != nil {
			t.Errorf("run returned %v after SIGTERM-like cancel, want nil", err)
		}
	})
	re := regexp.MustCompile(`listening on (\S+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return "http://" + m[1], stdout, stderr
		}
		select {
		case err := <-done:
			exited = true
			t.Fatalf("run exited early: %v", err)
		default:
		}
	}
	t.Fatalf("server did not start; stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return "", nil, nil
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestRunEmbeddedPrintsOwnerToken(t *testing.T) {
	base, stdout := start(t, nil)
	m := regexp.MustCompile(`scimd_[A-Za-z0-9_-]{20,}`).FindString(stdout.String())
	if m == "" {
		t.Fatalf("no owner token printed: %s", stdout.String())
	}
	status, body := call(t, "POST", base+"/scim/v2/Users", m,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first@example.com"}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v, want 201", status, body)
	}
	if loc, _ := body["meta"].(map[string]any)["location"].(string); !strings.HasPrefix(loc, base+"/scim/v2/Users/") {
		t.Errorf("meta.location = %q, want under %s", loc, base)
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /readyz = %v, %v; want 200", resp, err)
	}
}

func TestRunRedisBootstrapTokenAndBaseURL(t *testing.T) {
	url := redistest.Start(t)
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_BASE_URL": "https://scim.example.com"}
	base, stdout := start(t, env)
	if strings.Contains(stdout.String(), "test-bootstrap-token-xyz") {
		t.Errorf("the bootstrap token was printed")
	}
	status, body := call(t, "POST", base+"/scim/v2/Users", "test-bootstrap-token-xyz",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"redis@example.com"}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	if loc, _ := body["meta"].(map[string]any)["location"].(string); !strings.HasPrefix(loc, "https://scim.example.com/scim/v2/Users/") {
		t.Errorf("meta.location = %q, want under SCIM_BASE_URL", loc)
	}
	if status, _ := call(t, "GET", base+"/scim/v2/Users", "wrong", ""); status != 401 {
		t.Errorf("wrong token: status %d, want 401", status)
	}
}

func TestInvalidConfigurationNamesTheSetting(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"log level":       {map[string]string{"SCIM_LOG_LEVEL": "loud"}, "SCIM_LOG_LEVEL"},
		"redis scheme":    {map[string]string{"SCIM_REDIS_URL": "http://localhost:6379"}, "SCIM_REDIS_URL"},
		"bootstrap token": {map[string]string{"SCIM_BOOTSTRAP_TOKEN": "short"}, "SCIM_BOOTSTRAP_TOKEN"},
		"base url":        {map[string]string{"SCIM_BASE_URL": "not a url"}, "SCIM_BASE_URL"},
		"addr":            {map[string]string{"SCIM_ADDR": "localhost"}, "SCIM_ADDR"},
		"token rate":      {map[string]string{"SCIM_TOKEN_RATE": "fast"}, "SCIM_TOKEN_RATE"},
		"trust proxy":     {map[string]string{"SCIM_TRUST_FORWARDED_FOR": "perhaps"}, "SCIM_TRUST_FORWARDED_FOR"},
		"body limit":      {map[string]string{"SCIM_MAX_BODY_BYTES": "many"}, "SCIM_MAX_BODY_BYTES"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), nil, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("run with %v = %v, want an error naming %s", c.env, err, c.want)
			}
		})
	}
}

func TestInvalidRedisURLHidesItsPassword(t *testing.T) {
	for _, u := range []string{
		"redis://:hunter2-secret@local host:1/0",   // fails the config's URL check
		"redis://:hunter2-secret@localhost:1/zero", // parses as a URL, fails go-redis
		"redis+cluster://:hunter2-secret@[::1/",
	} {
		err := run(context.Background(), nil, func(k string) string {
			return map[string]string{"SCIM_REDIS_URL": u}[k]
		}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SCIM_REDIS_URL") && !strings.Contains(err.Error(), "redis") {
			t.Errorf("run with SCIM_REDIS_URL=%s = %v, want an error about the Redis URL", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("run with a bad SCIM_REDIS_URL printed its password: %v", err)
		}
	}
}

// TestRunServesMetricsByRoute: the operations listener (SCIM_DEBUG_ADDR)
// serves /metrics, by route pattern; the public listener does not.
func TestRunServesMetricsByRoute(t *testing.T) {
	base, stdout := start(t, map[string]string{"SCIM_BOOTSTRAP_TOKEN": "metrics-test-token-1234"}, "-debug-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`Operations listener \(pprof, /metrics\) on (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("the operations listener's address is not printed:\n%s", stdout.String())
	}
	ops := "http://" + m[1]
	status, body := call(t, "POST", base+"/scim/v2/Users", "metrics-test-token-1234",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"metrics@example.com"}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	id, _ := body["id"].(string)
	for range 2 {
		if status, _ := call(t, "GET", base+"/scim/v2/Users/"+id, "metrics-test-token-1234", ""); status != 200 {
			t.Fatalf("GET /Users/%s = %d, want 200", id, status)
		}
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener = %v, %v; want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(ops + "/debug/pprof/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/ on the operations listener = %v, %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Get(ops + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`scimd_http_requests_total{code="201",method="POST",route="/scim/v2/Users"} 1`,
		`scimd_http_requests_total{code="200",method="GET",route="/scim/v2/Users/{id}"} 2`,
		`scimd_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}"} 2`,
		"go_goroutines ",
		// The build, as "scimd version" prints it.
		fmt.Sprintf(`scimd_build_info{goversion=%q,revision=%q,version=%q} 1`, runtime.Version(), readBuild().Revision, readBuild().Version),
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("GET /metrics lacks %q; got:\n%s", want, text)
		}
	}
	if strings.Contains(string(text), id) {
		t.Errorf("GET /metrics names the user id %s: routes must be patterns, not paths", id)
	}
}

// TestVersion: "scimd version" prints what the toolchain stamped into the
// binary: the module version, the VCS revision, the Go version.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("scimd version: %v", err)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	wantVersion := info.Main.Version
	if wantVersion == "" {
		wantVersion = "(devel)"
	}
	wantRevision := "unknown"
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			wantRevision = s.Value
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 || lines[0] != "scimd "+wantVersion || !strings.HasPrefix(lines[1], "revision: "+wantRevision) ||
		lines[len(lines)-1] != "go: "+runtime.Version() {
		t.Errorf("scimd version printed:\n%s\nwant scimd %s, revision: %s, go: %s", out.String(), wantVersion, wantRevision, runtime.Version())
	}
	var help bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &help, io.Discard); err != nil || !strings.Contains(help.String(), "scimd version") {
		t.Errorf("scimd help = %v, lacks the version command:\n%s", err, help.String())
	}
}
