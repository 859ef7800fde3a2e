package scim_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/scimd/scimd/scim"
)

// wantTooMany checks a 429 answer: Retry-After in whole seconds within
// (0, maxWait], and a SCIM error body.
func wantTooMany(tb testing.TB, r response, maxWait int) {
	tb.Helper()
	r.scimError(tb, http.StatusTooManyRequests, "", "retry")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > maxWait {
		tb.Errorf("Retry-After = %q, want whole seconds in 1..%d", r.header.Get("Retry-After"), maxWait)
	}
}

func TestAuthFailureLimit(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		from := func(addr string) []string { return []string{"X-Forwarded-For", "198.51.100.1, " + addr} }
		for i := 1; i <= scim.DefaultAuthFailureLimit; i++ {
			token := "wrong-token-0123456789"
			if i%2 == 0 {
				token = "" // a missing token is a failure too
			}
			if r := a.do("GET", "/Users", token, nil, from("203.0.113.7")...); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401; body %s", i, r.status, r.raw)
			}
		}
		wantTooMany(t, a.do("GET", "/Users", "wrong-token-0123456789", nil, from("203.0.113.7")...), 60)
		// Blocked for every request, a valid token's too: a client that has been
		// guessing tokens is not trusted because it found one.
		wantTooMany(t, a.do("GET", "/Users", ownerToken, nil, from("203.0.113.7")...), 60)
		// Other addresses are not affected; an IPv6 client counts by its /64.
		a.do("GET", "/Users", ownerToken, nil, from("203.0.113.8")...).must(t, http.StatusOK)
		a.do("GET", "/Users", ownerToken, nil, from("2001:db8::1")...).must(t, http.StatusOK)
	}, func(c *scim.Config) { c.TrustForwardedFor = true })
}

func TestAuthFailureLimitIgnoresForwardedForByDefault(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		for i := range 3 {
			// A new forged address every time does not make a new client.
			fake := []string{"X-Forwarded-For", "192.0.2." + strconv.Itoa(i+1)}
			a.do("GET", "/Groups", "wrong-token-0123456789", nil, fake...).must(t, http.StatusUnauthorized)
		}
		wantTooMany(t, a.do("GET", "/Groups", ownerToken, nil, "X-Forwarded-For", "192.0.2.99"), 60)
	}, func(c *scim.Config) { c.AuthFailureLimit = 3 })
}

func TestAuthFailureLimitDisabled(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		for range scim.DefaultAuthFailureLimit + 5 {
			a.do("GET", "/Users", "wrong-token-0123456789", nil).must(t, http.StatusUnauthorized)
		}
	}, func(c *scim.Config) { c.AuthFailureLimit = -1 })
}

func TestTokenRateLimit(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		for i := 1; i <= 5; i++ {
			if r := a.do("GET", "/Users", ownerToken, nil); r.status != http.StatusOK {
				t.Fatalf("request %d of the burst: status %d, want 200", i, r.status)
			}
		}
		r := a.do("GET", "/Users", ownerToken, nil)
		wantTooMany(t, r, 2)
		if r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("a rate-limited request got a WWW-Authenticate challenge")
		}
		// Per token: another token of the same organization is unaffected.
		a.do("GET", "/Users", collabToken, nil).must(t, http.StatusOK)
		// Throttled requests do not count as authentication failures.
		for range scim.DefaultAuthFailureLimit {
			a.do("GET", "/Users", ownerToken, nil)
		}
		a.do("GET", "/Users", readerToken, nil).must(t, http.StatusOK)
	}, func(c *scim.Config) {
		c.TokenRate = 0.5 // one request per two seconds after the burst
		c.TokenBurst = 5
	})
}

func TestTokenRateLimitCountsBulkOnce(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		ops := make([]any, 10)
		for i := range ops {
			ops[i] = map[string]any{"method": "POST", "path": "/Users", "bulkId": strconv.Itoa(i),
				"data": user("bulk"+strconv.Itoa(i)+"@example.com", nil)}
		}
		r := a.do("POST", "/Bulk", ownerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops}).must(t, http.StatusOK)
		results, _ := r.body["Operations"].([]any)
		for i, res := range results {
			if got := str(res, "status"); got != "201" {
				t.Fatalf("bulk operation %d: status %s, want 201; body %s", i, got, r.raw)
			}
		}
		if len(results) != len(ops) {
			t.Fatalf("bulk answered %d operations, want %d", len(results), len(ops))
		}
		a.do("GET", "/Users", ownerToken, nil).must(t, http.StatusOK)
		wantTooMany(t, a.do("GET", "/Users", ownerToken, nil), 10)
	}, func(c *scim.Config) {
		c.TokenRate = 0.1
		c.TokenBurst = 2
	})
}

// TestMeSignInFailureLimit: failed /Me sign-ins count against the address;
// once over the limit even the right password is refused until the window ends.
func TestMeSignInFailureLimit(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		a.do("POST", "/Users", ownerToken, user("limited@example.com", map[string]any{"password": "Right-pass-123"})).must(t, http.StatusCreated)
		me := func(password string) *http.Response {
			req, _ := http.NewRequest("GET", a.srv.URL+"/t/acme/scim/v2/Me", nil)
			req.SetBasicAuth("limited@example.com", password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		for i := 0; i < 3; i++ {
			if resp := me("wrong-guess-" + strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("guess %d: status %d, want 401", i, resp.StatusCode)
			}
		}
		resp := me("Right-pass-123")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("after 3 failures: status %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}, func(c *scim.Config) { c.AuthFailureLimit = 3 })
}

// TestMeConcurrentSignInsCannotOverrunTheLimit: a burst of wrong passwords
// sent at once gets no more 401s (each one an argon2id hash) than the limit;
// the rest are refused with 429 before any hashing.
func TestMeConcurrentSignInsCannotOverrunTheLimit(t *testing.T) {
	const limit, burst = 3, 24
	limitStores(t, func(t *testing.T, a replica) {
		statuses := make(chan int, burst)
		var wg sync.WaitGroup
		for i := range burst {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", a.srv.URL+"/t/acme/scim/v2/Me", nil)
				req.SetBasicAuth("nobody"+strconv.Itoa(i)+"@example.com", "wrong-password-x")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[http.StatusUnauthorized] > limit || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != burst {
			t.Errorf("%d concurrent wrong sign-ins: statuses %v, want at most %d × 401 and the rest 429", burst, count, limit)
		}
	}, func(c *scim.Config) { c.AuthFailureLimit = limit })
}

// TestLimitPublic: form posts to the public pages are limited per address;
// pages themselves are not.
func TestLimitPublic(t *testing.T) {
	limitStores(t, func(t *testing.T, a replica) {
		pages := a.h.LimitPublic(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		post := func(addr string) *http.Response {
			r := httptest.NewRequest("POST", "/t/acme/accounts/login", nil)
			r.RemoteAddr = addr
			w := httptest.NewRecorder()
			pages.ServeHTTP(w, r)
			return w.Result()
		}
		for i := 0; i < 2; i++ {
			if got := post("192.0.2.1:1234").StatusCode; got != http.StatusNoContent {
				t.Fatalf("post %d: status %d, want it through", i, got)
			}
		}
		resp := post("192.0.2.1:1234")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("third post: status %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if got := post("192.0.2.2:1234").StatusCode; got != http.StatusNoContent {
			t.Errorf("another address: status %d, want it through", got)
		}
		get := func(path string) int {
			r := httptest.NewRequest("GET", path, nil)
			r.RemoteAddr = "192.0.2.1:1234"
			w := httptest.NewRecorder()
			pages.ServeHTTP(w, r)
			return w.Code
		}
		if got := get("/t/acme/accounts/login"); got != http.StatusNoContent {
			t.Errorf("GET of a page from the limited address: status %d, want it through", got)
		}
		// Opening a link with a token costs a lookup: limited like a post, so
		// that guessing tokens is slow as well as hopeless.
		if got := get("/t/acme/accounts/invite?token=guess"); got != http.StatusTooManyRequests {
			t.Errorf("GET of a token link from the limited address: status %d, want 429", got)
		}
	}, func(c *scim.Config) { c.PublicRate, c.PublicBurst = 0.01, 2 })
}
