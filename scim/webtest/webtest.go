// Package webtest holds what the tests of scimd's web pages (scim/accounts,
// scim/console) share: a store with two organizations, each with an owner
// API token; SCIM requests with one of them; and a browser that reads pages
// and submits forms. It is imported only by tests.
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// The owner API tokens of the organizations that [Store] creates.
const (
	OwnerToken = "acme-owner-token-0123456789"   // acme's
	OtherToken = "globex-owner-token-0123456789" // globex's
)

// Store opens the store at redisURL (empty: the embedded store), closed when
// the test ends, and creates the organizations acme and globex, each with an
// owner token ([OwnerToken], [OtherToken]).
func Store(tb testing.TB, redisURL string) *backend.Store {
	tb.Helper()
	ctx := context.Background()
	store, err := backend.Open(ctx, redisURL)
	if err != nil {
		tb.Fatalf("backend.Open: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	for org, tok := range map[string]string{"acme": OwnerToken, "globex": OtherToken} {
		if _, err := store.CreateOrg(ctx, org); err != nil {
			tb.Fatal(err)
		}
		if err := store.PutToken(ctx, resources.Token{Org: org, Name: "owner", Role: resources.RoleOwner,
			Hash: resources.HashToken(resources.Secret(tok)), Created: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	return store
}

// SCIM sends a SCIM request with token to the server at base (its root,
// without [scim.BasePath]) and decodes the answer.
func SCIM(tb testing.TB, base, token, method, path string, body any) (int, map[string]any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+scim.BasePath+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// ChangeLog returns org's change-log entries of the resource id, oldest
// first, as "who action".
func ChangeLog(tb testing.TB, store *backend.Store, org, id string) []string {
	tb.Helper()
	changes, err := store.Changes(context.Background(), org, 1000)
	if err != nil {
		tb.Fatalf("Changes: %v", err)
	}
	var out []string
	for i := len(changes) - 1; i >= 0; i-- {
		if c := changes[i]; c.ResourceID == id {
			out = append(out, c.Who+" "+string(c.Action))
		}
	}
	return out
}

// Browser is a client with a cookie jar that follows redirects, as a
// browser does, on the server at one base URL.
type Browser struct {
	// Client is the browser's HTTP client, cookie jar included.
	Client *http.Client
	tb     testing.TB
	base   string
}

// NewBrowser returns a browser without cookies on the server at base.
func NewBrowser(tb testing.TB, base string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Client: &http.Client{Jar: jar}, tb: tb, base: base}
}

// Get fetches u: a URL, or a path on the server.
func (b *Browser) Get(u string) Page {
	b.tb.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.base + u
	}
	resp, err := b.Client.Get(u)
	if err != nil {
		b.tb.Fatalf("GET %s: %v", u, err)
	}
	return read(resp)
}

// Post submits form to path (relative to the server).
func (b *Browser) Post(path string, form url.Values) Page {
	b.tb.Helper()
	resp, err := b.Client.PostForm(b.base+path, form)
	if err != nil {
		b.tb.Fatalf("POST %s: %v", path, err)
	}
	return read(resp)
}

func read(resp *http.Response) Page {
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(data), URL: resp.Request.URL.String()}
}

// Page is a fetched HTML page: the last one, after redirects.
type Page struct {
	Status int         // the response's status code
	Header http.Header // the response's header
	Body   string      // the HTML
	URL    string      // where the page was read from, after redirects
}

// Hidden returns the value of a hidden input.
func (p Page) Hidden(tb testing.TB, name string) string {
	tb.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(p.Body)
	if m == nil {
		tb.Fatalf("no hidden input %q in page:\n%s", name, p.Body)
	}
	return html.UnescapeString(m[1])
}

// Must fails unless the page has status and contains every text.
func (p Page) Must(tb testing.TB, status int, texts ...string) Page {
	tb.Helper()
	if p.Status != status {
		tb.Fatalf("%s: status %d, want %d; page:\n%s", p.URL, p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			tb.Errorf("%s lacks %q:\n%s", p.URL, s, p.Body)
		}
	}
	return p
}

// Lacks fails if the page contains any of texts.
func (p Page) Lacks(tb testing.TB, texts ...string) Page {
	tb.Helper()
	for _, s := range texts {
		if strings.Contains(p.Body, s) {
			tb.Errorf("%s contains %q:\n%s", p.URL, s, p.Body)
		}
	}
	return p
}

// Link returns the address of the page's link of relation rel (rel="next"),
// resolved against the page's address.
func (p Page) Link(tb testing.TB, rel string) string {
	tb.Helper()
	m := regexp.MustCompile(`<a href="([^"]*)" rel="` + rel + `"`).FindStringSubmatch(p.Body)
	if m == nil {
		tb.Fatalf("%s: no link rel=%q in page:\n%s", p.URL, rel, p.Body)
	}
	base, err := url.Parse(p.URL)
	if err != nil {
		tb.Fatalf("page address %q: %v", p.URL, err)
	}
	ref, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		tb.Fatalf("link %q: %v", m[1], err)
	}
	return base.ResolveReference(ref).String()
}
