package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// signInAs signs email in through the sign-in form of acme's console with
// next, in a fresh browser, and returns the final page.
func signInAs(t *testing.T, e *env, email, password, next string) (*browser, page) {
	t.Helper()
	b := e.browser()
	p := b.get("/t/acme/console/signin?next="+url.QueryEscape(next)).must(t, http.StatusOK, "Sign in to the console")
	return b, b.post("/t/acme/console/signin", url.Values{"csrf": {p.hidden(t, "csrf")}, "next": {p.hidden(t, "next")},
		"email": {email}, "password": {password}})
}

func TestSignIn(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.admin("boss@example.com", resources.RoleOwner)

		// A wrong password and an unknown address read the same; no session.
		for _, email := range []string{"boss@example.com", "nobody@example.com"} {
			b, p := signInAs(t, e, email, "wrong password here", "")
			p.must(t, http.StatusUnauthorized, "Invalid email or password.").lacks(t, "wrong password here")
			b.get("/t/acme/console/account").must(t, http.StatusOK, "Sign in to the console")
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
			u, _ := url.Parse(p.url)
			if got := u.RequestURI(); got != want || p.status != http.StatusOK {
				t.Errorf("sign in with next=%q: at %s (%d), want %s", next, got, p.status, want)
			}
		}
	})
}

func TestSignOutEndsTheSession(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		var cookie *http.Cookie
		for _, c := range b.client.Jar.Cookies(mustURL(t, e.srv.URL+"/t/acme/console/")) {
			if c.Name == "scimd_console" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie after sign-in")
		}
		b.submit("signout", nil).must(t, http.StatusOK, "You&#39;re signed out")
		// The old cookie, replayed, is refused: the session is gone from the store.
		replay := e.browser()
		replay.client.Jar.SetCookies(mustURL(t, e.srv.URL+"/t/acme/console/"), []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/t/acme/console/"}})
		replay.get("/t/acme/console/account").must(t, http.StatusOK, "Sign in to the console").lacks(t, "boss@example.com")
	})
}

// TestSessionMaxAge: a session ends SessionMaxAge (12 hours) after the
// sign-in, however active it is; one that was just used still works a
// moment before.
func TestSessionMaxAge(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		e.advance(resources.DefaultSessionMaxAge - time.Minute)
		b.get(b.console("account")).must(t, http.StatusOK, "boss@example.com").lacks(t, "Sign in to the console")
		e.advance(2 * time.Minute)
		b.get(b.console("account")).must(t, http.StatusOK, "Sign in to the console").lacks(t, "boss@example.com")
		// Ended for good: the clock back does not revive it.
		e.advance(-time.Hour)
		b.get(b.console("account")).must(t, http.StatusOK, "Sign in to the console")
	})
}

func TestAccountPasswordAfterAMistake(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		const next = "another long pass phrase for boss"
		p := b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next + "x"}})
		p.must(t, http.StatusBadRequest, "do not match", `action="/t/acme/console/account/password"`).lacks(t, next)
		b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next}}).
			must(t, http.StatusOK, "Your password is saved")
		_, p = signInAs(t, e, "boss@example.com", next, "")
		p.must(t, http.StatusOK, "Users")
		_, p = signInAs(t, e, "boss@example.com", adminPassword, "")
		p.must(t, http.StatusUnauthorized, "Invalid email or password.")
	})
}

func TestUnknownOrganization(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	for _, path := range []string{"/t/nosuchorg/console/signin", "/t/nosuchorg/console/signin-link?token=x"} {
		p := b.get(path).must(t, http.StatusNotFound, "No such organization")
		if p.header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", path)
		}
	}
	p := b.post("/t/nosuchorg/console/signin", url.Values{"email": {"a@example.com"}, "password": {"x"}})
	if p.status != http.StatusForbidden && p.status != http.StatusNotFound {
		t.Errorf("POST sign-in of an unknown organization = %d, want 403 or 404", p.status)
	}
}

// TestConsoleHeaders: every console answer, errors and redirects included,
// carries the security headers.
func TestConsoleHeaders(t *testing.T) {
	e := newEnv(t, "")
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
}
