package accounts_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/logtest"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

const (
	ownerToken = "acme-owner-token-0123456789"
	otherToken = "globex-owner-token-0123456789"
)

var inviteLinkRE = regexp.MustCompile(`https?://\S+/accounts/invite\?token=[A-Za-z0-9_-]+`)

// lastLink returns the invitation link of mb's newest message.
func lastLink(tb testing.TB, mb *mailtest.Mailbox) string {
	tb.Helper()
	link := inviteLinkRE.FindString(mb.Last(tb).Text)
	if link == "" {
		tb.Fatalf("no invitation link in the message")
	}
	return link
}

// env is scimd's HTTP surface as serve wires it: the SCIM API, /Me and the
// customer pages, on a real store, with mail kept in a mailbox.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	store *backend.Store
	mail  *mailtest.Mailbox
	logs  *logtest.Buffer
	// pages is the customer pages' handler (Wait: forgot-password work).
	pages *accounts.Handler
}

// stores runs fn on each store every API test group runs on: the embedded
// store, a redis-server and a Redis Cluster (redistest.EachStore).
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) { fn(t, newEnv(t, url, 0)) })
}

func newEnv(tb testing.TB, redisURL string, inviteTTL time.Duration) *env {
	tb.Helper()
	return newEnvWith(tb, redisURL, func(o *resources.Onboarding) { o.InviteTTL = inviteTTL })
}

// newEnvWith is newEnv with onboarding settings changed by set.
func newEnvWith(tb testing.TB, redisURL string, set func(o *resources.Onboarding)) *env {
	tb.Helper()
	return newEnvPages(tb, redisURL, set, func(*scim.Handler) accounts.Config { return accounts.Config{} })
}

// newEnvPages is newEnvWith with the pages configured by pages, which may
// wire them to the SCIM handler as serve does.
func newEnvPages(tb testing.TB, redisURL string, set func(o *resources.Onboarding), pages func(api *scim.Handler) accounts.Config) *env {
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
	o := resources.Onboarding{Store: store, Notifier: notify.New(e.srv.URL, e.mail), Log: log}
	set(&o)
	users := resources.NewUsers(store).WithOnboarding(o)
	api := scim.NewHandler(scim.Config{BaseURL: e.srv.URL + scim.BasePath}, users, resources.NewGroups(store), store, log)
	mux := http.NewServeMux()
	mux.Handle(scim.BasePath+"/", api)
	mux.Handle("/t/", api)
	cfg := pages(api)
	cfg.Orgs, cfg.Sessions = resources.NewOrgs(store), resources.NewCustomerSessions(store, users)
	e.pages = accounts.New(cfg, users, log)
	mux.Handle("/t/{org}/accounts/", e.pages)
	handler = scim.Observe(log, nil, mux)
	return e
}

// scim sends a SCIM request as the acme owner and decodes the answer.
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

// createCustomer creates a customer of acme; setup is "invite" or a
// temporary password.
func (e *env) createCustomer(userName, setup string) string {
	e.t.Helper()
	u := map[string]any{"schemas": []string{schemas.UserURN}, "userName": userName,
		"name": map[string]any{"givenName": "Jane", "familyName": "Doe"}}
	if setup == "invite" {
		u[schemas.CustomerUserURN] = map[string]any{"passwordSetup": "invite"}
	} else {
		u["password"] = setup
		u[schemas.CustomerUserURN] = map[string]any{"passwordSetup": "temporaryPassword"}
	}
	status, body := e.scim("POST", "/Users", u)
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Users = %d %v", status, body)
	}
	id, _ := body["id"].(string)
	return id
}

// state returns a customer's accountState, read through SCIM.
func (e *env) state(id string) string {
	e.t.Helper()
	status, body := e.scim("GET", "/Users/"+id, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Users/%s = %d %v", id, status, body)
	}
	ext, _ := body[schemas.CustomerUserURN].(map[string]any)
	s, _ := ext["accountState"].(string)
	return s
}

// me reports the status of GET /t/{org}/scim/v2/Me with HTTP Basic.
func (e *env) me(org, user, password string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/t/"+org+"/scim/v2/Me", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// browser is a client with a cookie jar that follows redirects, as a
// browser does.
type browser struct {
	e      *env
	client *http.Client
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

func (b *browser) read(resp *http.Response) page {
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data), url: resp.Request.URL.String()}
}

// hidden returns the value of a hidden input.
func (p page) hidden(tb testing.TB, name string) string {
	tb.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]*)">`).FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no hidden input %q in page:\n%s", name, p.body)
	}
	return html.UnescapeString(m[1])
}

// must fails unless the page has status and contains every text.
func (p page) must(tb testing.TB, status int, texts ...string) page {
	tb.Helper()
	if p.status != status {
		tb.Fatalf("status %d, want %d; page:\n%s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			tb.Errorf("page lacks %q:\n%s", s, p.body)
		}
	}
	return p
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
