package scim_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

// benchHandler returns the SCIM handler on a real redis-server seeded with n
// users, and the seeded ids. It is wrapped as scimd serves it: in Observe,
// with request metrics.
func benchHandler(b *testing.B, n int) (http.Handler, []string) {
	b.Helper()
	store, err := backend.Open(b.Context(), redistest.Start(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if err := store.PutToken(b.Context(), resources.Token{Org: "bench", Name: "bench", Role: resources.RoleOwner,
		Hash: resources.HashToken(ownerToken), Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// No per-token rate limit: the benchmarks measure the handler.
	api := scim.NewHandler(scim.Config{BaseURL: "http://bench/scim/v2", TokenCacheTTL: time.Minute, TokenRate: -1},
		// With onboarding, as scimd serves: a creation reads the
		// organization's settings.
		resources.NewUsers(store).WithOnboarding(resources.Onboarding{Store: store, Notifier: notify.New("http://bench", &mailtest.Mailbox{}), Log: log}),
		resources.NewGroups(store), store, log)
	h := scim.Observe(log, scim.NewMetrics(prometheus.NewRegistry()), api)
	ids := make([]string, n)
	for i := range ids {
		w := serve(h, "POST", "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench%06d@example.com","name":{"givenName":"Bench","familyName":"User %d"},"externalId":"ext-%d"}`, i, i, i))
		if w.Code != 201 {
			b.Fatalf("seed: %d %s", w.Code, w.Body)
		}
		ids[i] = w.Header().Get("Location")[len("http://bench/scim/v2/Users/"):]
	}
	return h, ids
}

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, scim.BasePath+path, rd)
	r.Header.Set("Authorization", "Bearer "+ownerToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/scim+json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const benchUsers = 2000

// reportCPU reports the CPU time the process spent per operation, as
// cpu-µs/op, from its start to the call of the function it returns: the
// server's own cost (its goroutines and garbage collection included; the
// redis-server process's not), steadier than ns/op on a shared machine,
// where ns/op also counts waiting for Redis.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func BenchmarkHTTPGetUser(b *testing.B) {
	h, ids := benchHandler(b, benchUsers)
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		if w := serve(h, "GET", "/Users/"+ids[i%len(ids)], ""); w.Code != 200 {
			b.Fatalf("GET: %d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkHTTPFilterUserName(b *testing.B) {
	h, _ := benchHandler(b, benchUsers)
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		f := url.QueryEscape(fmt.Sprintf(`userName eq "BENCH%06d@example.com"`, i%benchUsers))
		if w := serve(h, "GET", "/Users?filter="+f, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"totalResults":1`) {
			b.Fatalf("filter: %d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkHTTPCreateUser(b *testing.B) {
	h, _ := benchHandler(b, 0)
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		w := serve(h, "POST", "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new%08d@example.com","name":{"givenName":"New","familyName":"User"}}`, i))
		if w.Code != 201 {
			b.Fatalf("POST: %d %s", w.Code, w.Body)
		}
	}
}
