package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/web/browsertest"
)

// The walks of flows_*_browser_test.go go through every console flow in
// Chromium, as an owner and as a collaborator, on both stores: each
// submits the forms as a person does (typing, clicking), including the bad
// inputs and, for a collaborator, the owners' forms forged from the page,
// and checks what the page shows and what the store holds afterwards.
// They share one Chromium (chromium), each walk in a tab of its own with
// its own cookies, and assert texts loosely where the wording may change
// and store state exactly.

// chromium is the one Chromium the browser walks of this package share;
// TestMain stops it.
var chromium browsertest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	chromium.Close()
	os.Exit(code)
}

// inBrowser runs walk on both stores, as an owner and as a collaborator of
// acme (one after the other, on the same organization: the walks name
// what they create after their role), each signed in in a tab of its own
// (signedIn).
func inBrowser(t *testing.T, walk func(t *testing.T, b *tab)) {
	t.Helper()
	stores(t, func(t *testing.T, e *env) {
		for _, role := range roles {
			t.Run(string(role), func(t *testing.T) {
				walk(t, e.on(t).signedIn(t, string(role)+"@acme.com", role))
			})
		}
	})
}

// signedIn adds email to acme's administrators with role and returns a
// tab signed in as them with a one-time sign-in link. They have no
// password: signing in with one, and accepting the invitation that sets
// it, are walked in flows_signin_browser_test.go, and password hashing is
// the dearest step of a walk under the race detector.
func (e *env) signedIn(t *testing.T, email string, role resources.Role) *tab {
	t.Helper()
	ctx := context.Background()
	ad, err := e.store.CreateAdmin(ctx, "acme", resources.Admin{Email: email, Role: role})
	if err != nil {
		t.Fatalf("CreateAdmin %s: %v", email, err)
	}
	token, err := e.admins.SignInLink(ctx, "acme", ad.ID, time.Minute)
	if err != nil {
		t.Fatalf("SignInLink %s: %v", email, err)
	}
	b := e.tab(t)
	b.role, b.email = role, email
	b.do("open "+email+"'s sign-in link", chromedp.Navigate(e.srv.URL+"/t/acme/console/signin-link?token="+url.QueryEscape(token.Reveal())))
	b.waitFor(email+"'s sign-in link page", `document.querySelector("main button[type=submit]") !== null`)
	b.submit("sign in with "+email+"'s link", "main button[type=submit]")
	b.waitFor("the console after "+email+"'s sign-in link", `location.pathname.endsWith("/console/users")`)
	return b
}

// on returns e failing t, a subtest, rather than the test that made e:
// FailNow must be called from the goroutine of the test failing.
func (e *env) on(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// tab is a tab of the shared Chromium with cookies of its own: one
// person's browser on acme's console.
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context
	// role and email are the administrator signed in, if any.
	role  resources.Role
	email string
}

// on returns the tab failing t, a subtest of the tab's test.
func (b *tab) on(t *testing.T) *tab {
	c := *b
	c.t, c.e = t, b.e.on(t)
	return &c
}

// tab opens a tab 1024 px wide.
func (e *env) tab(t *testing.T) *tab {
	t.Helper()
	return &tab{t: t, e: e, ctx: chromium.Tab(t, 1024, 900)}
}

// do runs steps, failing the test with what on an error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// signIn signs email (password adminPassword) in through the sign-in form.
func (b *tab) signIn(email string) {
	b.t.Helper()
	b.open("signin")
	b.fill("email", email)
	b.fill("password", adminPassword)
	b.submit("sign in as "+email, "main button[type=submit]")
	if p := b.path(); !strings.HasSuffix(p, "/console/users") {
		b.t.Fatalf("after signing in as %s: at %s, want the users list; page: %s", email, p, b.text("main"))
	}
}

// open loads the console page path ("users", "settings/tokens") of acme.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.e.srv.URL+"/t/acme/console/"+path))
}

// fill puts value in the field id, replacing what it holds, as typing or
// pasting it does (the field hears an input event).
func (b *tab) fill(id, value string) {
	b.t.Helper()
	eval[bool](b, `(() => {
		const f = document.getElementById(`+strconv.Quote(id)+`);
		f.value = `+strconv.Quote(value)+`;
		f.dispatchEvent(new Event("input", {bubbles: true}));
		return true;
	})()`)
}

// choose selects value in the select id.
func (b *tab) choose(id, value string) {
	b.t.Helper()
	b.do("choose "+value+" in #"+id, chromedp.SetValue(chromedp.ID(id), value))
}

// click clicks the first element matching css, without waiting for a page.
func (b *tab) click(css string) {
	b.t.Helper()
	b.do("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// submit clicks the button (or link) css and waits for the page it leads
// to; it returns that page's HTTP status.
func (b *tab) submit(what, css string) int {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// waitFor waits until the page has loaded and the JavaScript condition cond
// holds in it. A page that is loading does not answer, or answers before its
// markup is parsed (location changes when the new document commits): it is
// asked again.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	loaded := `document.readyState === "complete" && (` + cond + `)`
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](loaded))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s does not hold within 30s (%v); at %s", what, cond, err, b.path())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// path is the page's path and query.
func (b *tab) path() string {
	b.t.Helper()
	return eval[string](b, `location.pathname + location.search`)
}

// text is the visible text of the first element matching css, "" when
// there is none.
func (b *tab) text(css string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+strconv.Quote(css)+`) || {}).innerText || ""`)
}

// texts are the visible texts of the elements matching css.
func (b *tab) texts(css string) []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll(`+strconv.Quote(css)+`)].map(e => e.innerText)`)
}

// count is the number of elements matching css.
func (b *tab) count(css string) int {
	b.t.Helper()
	return eval[int](b, `document.querySelectorAll(`+strconv.Quote(css)+`).length`)
}

// value is the value of the field id.
func (b *tab) value(id string) string {
	b.t.Helper()
	return eval[string](b, `document.getElementById(`+strconv.Quote(id)+`).value`)
}

// html is the page's markup.
func (b *tab) html() string {
	b.t.Helper()
	return eval[string](b, `document.documentElement.outerHTML`)
}

// shows fails unless the text of the first element matching css contains
// every one of want.
func (b *tab) shows(css string, want ...string) {
	b.t.Helper()
	got := b.text(css)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("at %s, %s shows %q, want it to contain %q", b.path(), css, got, w)
		}
	}
}

// errorShown fails unless the form's field id shows an error (its
// #id-error) containing want, and the page's error summary links to it.
func (b *tab) errorShown(id, want string) {
	b.t.Helper()
	b.shows("#"+id+"-error", want)
	if b.count(`.alert a[href="#`+id+`"]`) == 0 {
		b.t.Errorf("at %s, the error summary does not link to #%s: %q", b.path(), id, b.text(".alert"))
	}
}

// answer is what the server answered a request sent from the page.
type answer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// forge sends a request to the console path of acme from the page, as a
// script or a crafted page of the signed-in administrator could: a POST
// carries form and the page's CSRF token. Redirects are not followed.
func (b *tab) forge(method, path string, form url.Values) answer {
	b.t.Helper()
	fields := map[string]string{}
	for k := range form {
		fields[k] = form.Get(k)
	}
	js, _ := json.Marshal(fields)
	return eval[answer](b, `(async () => {
		const init = {method: `+strconv.Quote(method)+`, redirect: "manual", credentials: "same-origin"};
		if (init.method === "POST") {
			init.body = new URLSearchParams(`+string(js)+`);
			init.body.set("csrf", document.querySelector('input[name="csrf"]').value);
		}
		const r = await fetch(`+strconv.Quote("/t/acme/console/"+path)+`, init);
		return {status: r.status, body: await r.text()};
	})()`)
}

// injectForm adds to the page a form that posts fields to the console
// path of acme with the page's CSRF token, and submits it as a person
// clicking its button would: the browser shows the answer, whose status
// it returns.
func (b *tab) injectForm(path string, form url.Values) int {
	b.t.Helper()
	fields := map[string]string{}
	for k := range form {
		fields[k] = form.Get(k)
	}
	js, _ := json.Marshal(fields)
	eval[bool](b, `(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = `+strconv.Quote("/t/acme/console/"+path)+`;
		const fields = `+string(js)+`;
		fields.csrf = document.querySelector('input[name="csrf"]').value;
		for (const [k, v] of Object.entries(fields)) {
			const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v;
			f.appendChild(i);
		}
		const s = document.createElement("button");
		s.type = "submit"; s.id = "forged";
		f.appendChild(s);
		document.body.appendChild(f);
		return true;
	})()`)
	return b.submit("submit the form injected to "+path, "#forged")
}

// session is the secret of the tab's console session cookie, "" when it
// has none.
func (b *tab) session() resources.Secret {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.e.srv.URL + "/t/acme/console/"}})
	if err != nil {
		b.t.Fatalf("read the cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "scimd_console" {
			return resources.Secret(c.Value)
		}
	}
	return ""
}

// namedCustomer creates a customer of acme through SCIM with a name and no
// password (nothing to hash: quick) and returns its id.
func (e *env) namedCustomer(userName, given, family string) string {
	e.t.Helper()
	status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": userName,
		"name": map[string]any{"givenName": given, "familyName": family}})
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Users %s = %d %v", userName, status, body)
	}
	id, _ := body["id"].(string)
	return id
}
