package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/console"
	"github.com/scimd/scimd/scim/logtest"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

const (
	ownerToken = "acme-owner-token-0123456789"
	otherToken = "globex-owner-token-0123456789"
	// adminPassword is every test administrator's password.
	adminPassword = "correct horse battery staple"
)

// env is scimd's HTTP surface as serve wires it (the SCIM API, the customer
// pages and the console) on a real store, with mail kept in a mailbox.
// Organizations acme and globex exist, each with an owner API token.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	store  *backend.Store
	mail   *mailtest.Mailbox
	logs   *logtest.Buffer
	admins *resources.Admins
	// ahead is how far the administrators' clock is ahead of the wall
	// clock (see advance).
	ahead atomic.Int64
}

// advance moves the administrators' clock (sessions' ages) d ahead.
func (e *env) advance(d time.Duration) { e.ahead.Add(int64(d)) }

// stores runs fn on the embedded store and on a real redis-server.
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) { fn(t, newEnv(t, "")) })
	t.Run("redis", func(t *testing.T) { fn(t, newEnv(t, redistest.Start(t))) })
}

func newEnv(tb testing.TB, redisURL string) *env {
	tb.Helper()
	ctx := context.Background()
	store, err := backend.Open(ctx, redisURL)
	if err != nil {
		tb.Fatalf("backend.Open: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	for org, tok := range map[string]string{"acme": ownerToken, "globex": otherToken} {
		if _, err := store.CreateOrg(ctx, org); err != nil {
			tb.Fatal(err)
		}
		if err := store.PutToken(ctx, resources.Token{Org: org, Name: "owner", Role: resources.RoleOwner,
			Hash: resources.HashToken(resources.Secret(tok)), Created: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	e := &env{t: tb, store: store, mail: &mailtest.Mailbox{}, logs: &logtest.Buffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	tb.Cleanup(e.srv.Close)
	users := resources.NewUsers(store).WithOnboarding(resources.Onboarding{Store: store, Notifier: notify.New(e.srv.URL, e.mail), Log: log})
	groups := resources.NewGroups(store)
	e.admins = resources.NewAdmins(resources.AdminsConfig{Store: store, Notifier: notify.New(e.srv.URL, e.mail), Log: log,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.ahead.Load())) }})
	api := scim.NewHandler(scim.Config{BaseURL: e.srv.URL + scim.BasePath}, users, groups, store, log)
	mux := http.NewServeMux()
	mux.Handle(scim.BasePath+"/", api)
	mux.Handle("/t/", api)
	mux.Handle("/t/{org}/accounts/", accounts.New(accounts.Config{}, users, log))
	mux.Handle("/t/{org}/console/", console.New(console.Config{BaseURL: e.srv.URL, Limiter: api},
		console.Services{Users: users, Groups: groups, Admins: e.admins, Orgs: resources.NewOrgs(store)}, log))
	handler = scim.Observe(log, nil, mux)
	return e
}

// scim sends a SCIM request as the acme owner token and decodes the answer.
func (e *env) scim(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.scimAs(ownerToken, method, path, body)
}

func (e *env) scimAs(token, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+scim.BasePath+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// createCustomer creates a customer of acme through SCIM with a temporary
// password and returns its id.
func (e *env) createCustomer(userName, given, family string) string {
	e.t.Helper()
	status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN, schemas.CustomerUserURN}, "userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"password": "a-temporary-Passw0rd!", schemas.CustomerUserURN: map[string]any{"passwordSetup": "temporaryPassword"}})
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Users %s = %d %v", userName, status, body)
	}
	id, _ := body["id"].(string)
	return id
}

// createGroup creates a group of acme through SCIM and returns its id.
func (e *env) createGroup(name string, memberIDs ...string) string {
	e.t.Helper()
	var members []any
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	status, body := e.scim("POST", "/Groups", map[string]any{"schemas": []string{schemas.GroupURN}, "displayName": name, "members": members})
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Groups %s = %d %v", name, status, body)
	}
	id, _ := body["id"].(string)
	return id
}

// inviteLinkRE finds an administrator's invitation link in a message.
var inviteLinkRE = regexp.MustCompile(`https?://\S+/console/accept\?token=[A-Za-z0-9_-]+`)

// admin invites an administrator of acme with role (as the command line
// does), accepts the invitation in a fresh browser and returns it signed in.
func (e *env) admin(email string, role resources.Role) *browser {
	e.t.Helper()
	return e.adminOf("acme", email, role)
}

func (e *env) adminOf(org, email string, role resources.Role) *browser {
	e.t.Helper()
	if _, err := e.admins.Invite(context.Background(), org, resources.Admin{}, email, role); err != nil {
		e.t.Fatalf("invite %s: %v", email, err)
	}
	link := inviteLinkRE.FindString(e.mail.Last(e.t).Text)
	if link == "" {
		e.t.Fatalf("no invitation link in the message to %s", email)
	}
	b := e.browser()
	p := b.get(link).must(e.t, http.StatusOK, "Choose your console password")
	// No link token is ever written in a page (it stays in the address).
	p.lacks(e.t, link[strings.Index(link, "token=")+len("token="):])
	// The form posts to the page's own address, which holds the token.
	p = b.post(strings.TrimPrefix(p.url, e.srv.URL), url.Values{"csrf": {p.hidden(e.t, "csrf")},
		"password": {adminPassword}, "confirm": {adminPassword}})
	p.must(e.t, http.StatusOK)
	b.org = org
	b.csrf = b.get("/t/"+org+"/console/account").must(e.t, http.StatusOK, email).hidden(e.t, "csrf")
	return b
}

// changeLog returns acme's change-log entries of the resource id, oldest
// first, as "who action".
func (e *env) changeLog(id string) []string {
	e.t.Helper()
	changes, err := e.store.Changes(context.Background(), "acme", 1000)
	if err != nil {
		e.t.Fatalf("Changes: %v", err)
	}
	var out []string
	for i := len(changes) - 1; i >= 0; i-- {
		if c := changes[i]; c.ResourceID == id {
			out = append(out, c.Who+" "+string(c.Action))
		}
	}
	return out
}

// browser is a client with a cookie jar that follows redirects, as a
// browser does; once signed in, org is its organization and csrf its
// session's form token.
type browser struct {
	e         *env
	client    *http.Client
	org, csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar}}
}

// page is a fetched HTML page.
type page struct {
	status int
	header http.Header
	body   string
	url    string
}

// console is the address of a console page of the browser's organization.
func (b *browser) console(path string) string { return "/t/" + b.org + "/console/" + path }

func (b *browser) get(u string) page {
	b.e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.e.srv.URL + u
	}
	resp, err := b.client.Get(u)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

// post submits form to path (relative to the server).
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	resp, err := b.client.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.e.t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(resp)
}

// submit posts form to the console page path with the session's CSRF
// token, as the page's form would.
func (b *browser) submit(path string, form url.Values) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.post(b.console(path), form)
}

func (b *browser) read(resp *http.Response) page {
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data), url: resp.Request.URL.String()}
}

// hidden returns the value of a hidden input.
func (p page) hidden(tb testing.TB, name string) string {
	tb.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no hidden input %q in page:\n%s", name, p.body)
	}
	return html.UnescapeString(m[1])
}

// must fails unless the page has status and contains every text.
func (p page) must(tb testing.TB, status int, texts ...string) page {
	tb.Helper()
	if p.status != status {
		tb.Fatalf("%s: status %d, want %d; page:\n%s", p.url, p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			tb.Errorf("%s lacks %q:\n%s", p.url, s, p.body)
		}
	}
	return p
}

// lacks fails if the page contains any of texts.
func (p page) lacks(tb testing.TB, texts ...string) page {
	tb.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			tb.Errorf("%s contains %q:\n%s", p.url, s, p.body)
		}
	}
	return p
}

// link returns the address of the page's link of relation rel (rel="next"),
// resolved against the page's address.
func (p page) link(tb testing.TB, rel string) string {
	tb.Helper()
	m := regexp.MustCompile(`<a href="([^"]*)" rel="` + rel + `"`).FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("%s: no link rel=%q in page:\n%s", p.url, rel, p.body)
	}
	base, err := url.Parse(p.url)
	if err != nil {
		tb.Fatalf("page address %q: %v", p.url, err)
	}
	ref, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		tb.Fatalf("link %q: %v", m[1], err)
	}
	return base.ResolveReference(ref).String()
}
