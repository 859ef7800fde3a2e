package accounts_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/internal/logtest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
	"github.com/scimd/scimd/scim/webtest"
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
	store := webtest.Store(tb, redisURL)
	e := &env{t: tb, store: store, mail: &mailtest.Mailbox{}, logs: &logtest.Buffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	tb.Cleanup(e.srv.Close)
	// No window between the public pages' emails to one account (see
	// TestPublicPagesMailOncePerWindow), which the flows send back to back.
	o := resources.Onboarding{Store: store, Notifier: notify.New(e.srv.URL, e.mail), Log: log, MailEvery: -1}
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
	return e.scimAs(webtest.OwnerToken, method, path, body)
}

func (e *env) scimAs(token, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return webtest.SCIM(e.t, e.srv.URL, token, method, path, body)
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
	*webtest.Browser
	e *env
}

func (e *env) browser() *browser {
	return &browser{Browser: webtest.NewBrowser(e.t, e.srv.URL), e: e}
}

// page is a fetched HTML page.
type page = webtest.Page

// changeLog returns acme's change-log entries of the resource id, oldest
// first, as "who action".
func (e *env) changeLog(id string) []string {
	e.t.Helper()
	return webtest.ChangeLog(e.t, e.store, "acme", id)
}

// tokenOf is the link token in the address of p, an emailed link's page:
// its form posts there, and the page itself never holds the token.
func tokenOf(tb testing.TB, p page) string {
	tb.Helper()
	u, err := url.Parse(p.URL)
	if err != nil {
		tb.Fatalf("page address %q: %v", p.URL, err)
	}
	return u.Query().Get("token")
}
