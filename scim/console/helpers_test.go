package console_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/internal/logtest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/console"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
	"github.com/scimd/scimd/scim/webtest"
)

// adminPassword is every test administrator's password.
const adminPassword = "correct horse battery staple"

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
	// A pointer, so that the copies [env.on] makes share it.
	ahead *atomic.Int64
}

// advance moves the administrators' clock (sessions' ages) d ahead.
func (e *env) advance(d time.Duration) { e.ahead.Add(int64(d)) }

// stores runs fn on each store every API test group runs on: the embedded
// store, a redis-server and a Redis Cluster (redistest.EachStore).
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) { fn(t, newEnv(t, url)) })
}

func newEnv(tb testing.TB, redisURL string) *env {
	tb.Helper()
	store := webtest.Store(tb, redisURL)
	return wireEnv(tb, store)
}

// wireEnv is newEnv on a store already set up.
func wireEnv(tb testing.TB, store *backend.Store) *env {
	tb.Helper()
	e := &env{t: tb, store: store, mail: &mailtest.Mailbox{}, logs: &logtest.Buffer{}, ahead: new(atomic.Int64)}
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
	mux.Handle("/admin/", api)
	mux.Handle("/t/{org}/accounts/", accounts.New(accounts.Config{}, users, log))
	mux.Handle("/t/{org}/console/", console.New(console.Config{BaseURL: e.srv.URL, Limiter: api},
		console.Services{Users: users, Groups: groups, Admins: e.admins, Orgs: resources.NewOrgs(store)}, log))
	handler = scim.Observe(log, nil, mux)
	return e
}

// scim sends a SCIM request as the acme owner token and decodes the answer.
func (e *env) scim(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.scimAs(webtest.OwnerToken, method, path, body)
}

func (e *env) scimAs(token, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return webtest.SCIM(e.t, e.srv.URL, token, method, path, body)
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
	p := b.Get(link).Must(e.t, http.StatusOK, "Choose your console password")
	// No link token is ever written in a page (it stays in the address).
	p.Lacks(e.t, link[strings.Index(link, "token=")+len("token="):])
	// The form posts to the page's own address, which holds the token.
	p = b.Post(strings.TrimPrefix(p.URL, e.srv.URL), url.Values{"csrf": {p.Hidden(e.t, "csrf")},
		"password": {adminPassword}, "confirm": {adminPassword}})
	p.Must(e.t, http.StatusOK)
	b.org = org
	b.csrf = b.Get("/t/"+org+"/console/account").Must(e.t, http.StatusOK, email).Hidden(e.t, "csrf")
	return b
}

// changeLog returns acme's change-log entries of the resource id, oldest
// first, as "who action".
func (e *env) changeLog(id string) []string {
	e.t.Helper()
	return webtest.ChangeLog(e.t, e.store, "acme", id)
}

// browser is a client with a cookie jar that follows redirects, as a
// browser does; once signed in, org is its organization and csrf its
// session's form token.
type browser struct {
	*webtest.Browser
	e         *env
	org, csrf string
}

func (e *env) browser() *browser {
	return &browser{Browser: webtest.NewBrowser(e.t, e.srv.URL), e: e}
}

// page is a fetched HTML page.
type page = webtest.Page

// console is the address of a console page of the browser's organization.
func (b *browser) console(path string) string { return "/t/" + b.org + "/console/" + path }

// submit posts form to the console page path with the session's CSRF
// token, as the page's form would.
func (b *browser) submit(path string, form url.Values) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.Post(b.console(path), form)
}
