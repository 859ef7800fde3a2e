package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// signInAs signs email in through the sign-in form of acme's console with
// next, in a fresh browser, and returns the final page.
func signInAs(t *testing.T, e *env, email, password, next string) (*browser, page) {
	t.Helper()
	b := e.browser()
	p := b.Get("/t/acme/console/signin?next="+url.QueryEscape(next)).Must(t, http.StatusOK, "Sign in to the console")
	return b, b.Post("/t/acme/console/signin", url.Values{"csrf": {p.Hidden(t, "csrf")}, "next": {p.Hidden(t, "next")},
		"email": {email}, "password": {password}})
}

func TestSignIn(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.admin("boss@example.com", resources.RoleOwner)

		// A wrong password and an unknown address read the same; no session.
		for _, email := range []string{"boss@example.com", "nobody@example.com"} {
			b, p := signInAs(t, e, email, "wrong password here", "")
			p.Must(t, http.StatusUnauthorized, "Invalid email or password.").Lacks(t, "wrong password here")
			b.Get("/t/acme/console/account").Must(t, http.StatusOK, "Sign in to the console")
		}

		// next leads back to a page of this console, never elsewhere.
		cases := map[string]string{
			"/t/acme/console/groups":                   "/t/acme/console/groups",
			"/t/acme/console/../../x":                  "/t/acme/console/users",
			"/t/acme/console/./../../../evil.com":      "/t/acme/console/users",
			"/t/acme/console/%2e%2e/%2e%2e/x":          "/t/acme/console/users",
			"//evil.com/t/acme/console/":               "/t/acme/console/users",
			"/t/globex/console/users":                  "/t/acme/console/users",
			"/t/acme/console/users?q=jane":             "/t/acme/console/users?q=jane",
			"https://evil.com/t/acme/console/settings": "/t/acme/console/users",
		}
		for next, want := range cases {
			_, p := signInAs(t, e, "boss@example.com", adminPassword, next)
			u, _ := url.Parse(p.URL)
			if got := u.RequestURI(); got != want || p.Status != http.StatusOK {
				t.Errorf("sign in with next=%q: at %s (%d), want %s", next, got, p.Status, want)
			}
		}
	})
}

func TestSignOutEndsTheSession(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		var cookie *http.Cookie
		for _, c := range b.Client.Jar.Cookies(mustURL(t, e.srv.URL+"/t/acme/console/")) {
			if c.Name == "scimd_console" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie after sign-in")
		}
		b.submit("signout", nil).Must(t, http.StatusOK, "You&#39;re signed out")
		// The old cookie, replayed, is refused: the session is gone from the store.
		replay := e.browser()
		replay.Client.Jar.SetCookies(mustURL(t, e.srv.URL+"/t/acme/console/"), []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/t/acme/console/"}})
		replay.Get("/t/acme/console/account").Must(t, http.StatusOK, "Sign in to the console").Lacks(t, "boss@example.com")
	})
}

// TestSessionMaxAge: a session ends SessionMaxAge (12 hours) after the
// sign-in, however active it is; one that was just used still works a
// moment before.
func TestSessionMaxAge(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		e.advance(resources.DefaultSessionMaxAge - time.Minute)
		b.Get(b.console("account")).Must(t, http.StatusOK, "boss@example.com").Lacks(t, "Sign in to the console")
		e.advance(2 * time.Minute)
		b.Get(b.console("account")).Must(t, http.StatusOK, "Sign in to the console").Lacks(t, "boss@example.com")
		// Ended for good: the clock back does not revive it.
		e.advance(-time.Hour)
		b.Get(b.console("account")).Must(t, http.StatusOK, "Sign in to the console")
	})
}

func TestAccountPasswordAfterAMistake(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		const next = "another long pass phrase for boss"
		p := b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next + "x"}})
		p.Must(t, http.StatusBadRequest, "do not match", `action="/t/acme/console/account/password"`).Lacks(t, next)
		b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next}}).
			Must(t, http.StatusOK, "Your password is saved")
		_, p = signInAs(t, e, "boss@example.com", next, "")
		p.Must(t, http.StatusOK, "Users")
		_, p = signInAs(t, e, "boss@example.com", adminPassword, "")
		p.Must(t, http.StatusUnauthorized, "Invalid email or password.")
	})
}

func TestUnknownOrganization(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		e := newEnv(t, redisURL)
		b := e.browser()
		for _, path := range []string{"/t/nosuchorg/console/signin", "/t/nosuchorg/console/signin-link?token=x"} {
			p := b.Get(path).Must(t, http.StatusNotFound, "No such organization")
			if p.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: no Content-Security-Policy", path)
			}
		}
		p := b.Post("/t/nosuchorg/console/signin", url.Values{"email": {"a@example.com"}, "password": {"x"}})
		if p.Status != http.StatusForbidden && p.Status != http.StatusNotFound {
			t.Errorf("POST sign-in of an unknown organization = %d, want 403 or 404", p.Status)
		}
	})
}

// TestConsoleHeaders: every console answer, errors and redirects included,
// carries the security headers.
func TestConsoleHeaders(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, path := range []string{"/t/acme/console/", "/t/acme/console/nothing-here", "/t/acme/console/signin", "/t/acme/console/users"} {
			resp, err := client.Get(e.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Referrer-Policy"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("GET %s (%d): no %s", path, resp.StatusCode, h)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s: CSP allows inline code: %s", path, csp)
			}
		}
	})
}

// TestSignInNeedsNoGlobalKey (issue 14): the sign-in page finds its
// organization among the organization's own keys, so that it works for a
// server whose Redis user may touch only organizations' keys (scimd:{org}:…)
// and the shared limits' (scimd:limit:…), the organizations list deleted:
// no request reads it. On a real redis-server and a Cluster.
func TestSignInNeedsNoGlobalKey(t *testing.T) {
	run := func(t *testing.T, redisURL string, addrs []string) {
		ctx := context.Background()
		full := newEnv(t, redisURL)
		full.admin("boss@example.com", resources.RoleOwner)
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			err := c.Do(ctx, "ACL", "SETUSER", "orgonly", "on", ">orgonly-pw", "resetkeys", "~scimd:{*", "~scimd:limit:*", "+@all").Err()
			if err == nil {
				// On Cluster, only the node that has its slot deletes it.
				if err = c.Del(ctx, "scimd:orgs").Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
					err = nil
				}
			}
			c.Close()
			if err != nil {
				t.Fatalf("ACL SETUSER on %s: %v", addr, err)
			}
		}
		store, err := backend.Open(ctx, strings.Replace(redisURL, "://", "://orgonly:orgonly-pw@", 1))
		if err != nil {
			t.Fatalf("backend.Open as orgonly: %v", err)
		}
		t.Cleanup(func() { store.Close() })
		e := wireEnv(t, store)
		b := e.browser()
		b.Get("/t/acme/console/signin").Must(t, http.StatusOK, "Sign in to the console")
		b.Get("/t/nosuchorg/console/signin").Must(t, http.StatusNotFound, "No such organization")
		_, p := signInAs(t, e, "boss@example.com", adminPassword, "")
		p.Must(t, http.StatusOK, "Users")
		if out := e.logs.String(); strings.Contains(out, "NOPERM") {
			t.Errorf("a request read a key out of bounds:\n%s", out)
		}
	}
	t.Run("redis", func(t *testing.T) {
		redisURL := redistest.Start(t)
		u, _ := url.Parse(redisURL)
		run(t, redisURL, []string{u.Host})
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3})
		run(t, c.URL(), c.Addrs)
	})
}
