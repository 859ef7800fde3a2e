package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
)

// newFakeMetrics serves the Prometheus metrics soak reads, as scimd's
// operations listener does.
func newFakeMetrics(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n"+
			"go_memstats_heap_inuse_bytes 1.048576e+07\nprocess_resident_memory_bytes 3.145728e+07\n"+
			`scimd_http_requests_total{code="200",method="GET",route="/scim/v2/Users/{id}"} 7`+"\n")
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestSoak(t *testing.T) {
	redisURL := redistest.Start(t)
	f, srv := newFakeSCIM(t)
	metrics := newFakeMetrics(t)
	args := []string{"soak", "-url", srv.URL + "/scim/v2", "-metrics-url", metrics.URL + "/metrics",
		"-users", "20", "-duration", "600ms", "-interval", "250ms", "-concurrency", "4"}
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": testToken, "SCIM_REDIS_URL": redisURL}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("scimload soak = %v, want nil; stdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	t.Logf("stdout:\n%s", out.String())
	lines := regexp.MustCompile(`(?m)^\| [\d.]+m?s \| 30\.0 \| 10\.0 \| 42 \| \d+\.\d \| \d+ \| 0 \| \d+ \|$`).FindAllString(out.String(), -1)
	if len(lines) < 3 {
		t.Errorf("soak printed %d lines of figures (start, every interval, end), want at least 3:\n%s", len(lines), out.String())
	}
	for _, want := range []string{"start → end: scimd RSS 30.0 → 30.0 MB, heap 10.0 → 10.0 MB, goroutines 42 → 42; Redis used", "create-delete "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("soak printed:\n%s\nwant %q", out.String(), want)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.byID) != 20 {
		t.Errorf("after the soak the fake has %d users, want the 20 seeded: every user created was deleted", len(f.byID))
	}

	// A failing request makes the soak fail, naming it.
	f.groupStatus = http.StatusInternalServerError
	f.mu.Unlock()
	out.Reset()
	err := run(ctx, append(args, "-duration", "300ms"), func(k string) string { return env[k] }, &out, &errOut)
	f.mu.Lock()
	if err == nil || !strings.Contains(out.String(), "first error: PATCH /Groups/") {
		t.Errorf("scimload soak with failing group PATCHes = %v, printed:\n%s\nwant an error and the first failure", err, out.String())
	}
}

func TestSoakConfig(t *testing.T) {
	env := func(string) string { return "" }
	for args, want := range map[string]string{
		"-token t -redis-url redis://x":                                    "-metrics-url is required",
		"-token t -redis-url redis://x -metrics-url http://m -interval 0s": "-interval 0s",
		"-token t -redis-url redis://x -metrics-url http://m -duration 0s": "-duration 0s",
		"-redis-url redis://x -metrics-url http://m":                       "bearer token is required",
		"-token t -redis-url redis://x -metrics-url http://m extra":        `unexpected argument "extra"`,
	} {
		if _, err := parseSoakConfig(strings.Fields(args), env, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSoakConfig(%s) = %v, want %q", args, err, want)
		}
	}
}
