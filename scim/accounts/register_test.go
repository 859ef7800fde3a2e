package accounts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/resources/mail/mailtest"
	"github.com/scimd/scimd/schemas"
)

const (
	regPass   = "Registered-Pass-2025"
	otherPass = "Someone-Else-2025!"
)

// enable turns self-registration of org on or off.
func (e *env) enable(org string, on bool) {
	e.t.Helper()
	if _, err := e.store.SetSelfRegistration(context.Background(), org, on); err != nil {
		e.t.Fatalf("SetSelfRegistration(%s, %v): %v", org, on, err)
	}
}

var confirmLinkRE = regexp.MustCompile(`https?://\S+/accounts/confirm\?token=[A-Za-z0-9_-]+`)

// confirmLink returns the confirmation link of mb's newest message, which
// must be to.
func confirmLink(tb testing.TB, mb *mailtest.Mailbox, to string) string {
	tb.Helper()
	last := mb.Last(tb)
	if last.To != to {
		tb.Fatalf("the last message is to %q, want %q", last.To, to)
	}
	link := confirmLinkRE.FindString(last.Text)
	if link == "" || !strings.Contains(last.HTML, link) {
		tb.Fatalf("no confirmation link in the message (text and HTML):\n%s", last.Text)
	}
	return link
}

// usersNamed returns the ids of acme's users with userName (any case).
func (e *env) usersNamed(userName string) []string {
	e.t.Helper()
	status, body := e.scim("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Users?filter = %d %v", status, body)
	}
	var ids []string
	list, _ := body["Resources"].([]any)
	for _, r := range list {
		m, _ := r.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// register fills in and submits the registration form of org with a new
// browser.
func (e *env) register(org, email, given, family, pw, confirm string) page {
	e.t.Helper()
	b := e.browser()
	form := b.get("/t/"+org+"/accounts/register").must(e.t, http.StatusOK, "Create your account")
	return b.post("/t/"+org+"/accounts/register", url.Values{"csrf": {form.hidden(e.t, "csrf")}, "email": {email},
		"givenName": {given}, "familyName": {family}, "password": {pw}, "confirm": {confirm}})
}

var csrfInputRE = regexp.MustCompile(`<input type="hidden" name="csrf" value="[^"]*">`)

func TestRegistrationDisabled(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.browser()
		// Never enabled, enabled elsewhere only, and turned off again.
		e.enable("globex", true)
		for round := range 2 {
			if round == 1 {
				e.enable("acme", true)
				e.enable("acme", false)
			}
			p := b.get("/t/acme/accounts/register").must(t, http.StatusNotFound, "Registration is not available", "does not offer self-registration")
			checkHeaders(t, p)
			if strings.Contains(p.body, `name="password"`) {
				t.Errorf("the closed page shows the form")
			}
			login := b.get("/t/acme/accounts/login")
			b.post("/t/acme/accounts/register", url.Values{"csrf": {login.hidden(t, "csrf")}, "email": {"new@example.com"},
				"givenName": {"New"}, "familyName": {"Person"}, "password": {regPass}, "confirm": {regPass}}).
				must(t, http.StatusNotFound, "Registration is not available")
			for _, path := range []string{"registered", "confirm?token=" + strings.Repeat("A", 43), "confirmed"} {
				b.get("/t/acme/accounts/"+path).must(t, http.StatusNotFound, "Registration is not available")
			}
			b.post("/t/acme/accounts/confirm", url.Values{"csrf": {login.hidden(t, "csrf")}, "token": {"x"}}).
				must(t, http.StatusNotFound, "Registration is not available")
		}
		// A name no organization has: the same page.
		b.get("/t/nosuchorg/accounts/register").must(t, http.StatusNotFound, "Registration is not available")
		if ids := e.usersNamed("new@example.com"); len(ids) != 0 {
			t.Errorf("a closed registration created users %v", ids)
		}
		if n := len(e.mail.Messages()); n != 0 {
			t.Errorf("a closed registration sent %d messages", n)
		}
	})
}

func TestRegistration(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		const email = "New.Customer@Example.com"

		b := e.browser()
		form := b.get("/t/acme/accounts/register").must(t, http.StatusOK, `<html lang="en">`, "Create your account",
			`<label for="email">`, `<label for="givenName">`, `<label for="familyName">`, `<label for="password">`, `<label for="confirm">`,
			`autocomplete="email"`, `autocomplete="given-name"`, `autocomplete="family-name"`, `autocomplete="new-password"`,
			`aria-describedby="password-hint"`, `href="login"`)
		checkHeaders(t, form)
		if strings.Contains(form.body, "<script") {
			t.Errorf("the page has a script")
		}
		fresh := b.post("/t/acme/accounts/register", url.Values{"csrf": {form.hidden(t, "csrf")}, "email": {email},
			"givenName": {"Nora"}, "familyName": {"Newman"}, "password": {regPass}, "confirm": {regPass}}).
			must(t, http.StatusOK, "Check your email")
		if !strings.HasSuffix(fresh.url, "/t/acme/accounts/registered") {
			t.Errorf("after registering the browser is at %s, want .../registered (303 See Other)", fresh.url)
		}
		checkHeaders(t, fresh)
		noSecrets(t, fresh, regPass)

		ids := e.usersNamed(email)
		if len(ids) != 1 {
			t.Fatalf("users named %s = %v, want one", email, ids)
		}
		id := ids[0]
		status, u := e.scim("GET", "/Users/"+id, nil)
		if status != http.StatusOK {
			t.Fatalf("GET /Users/%s = %d", id, status)
		}
		ext, _ := u[schemas.CustomerUserURN].(map[string]any)
		name, _ := u["name"].(map[string]any)
		if ext["accountState"] != "pendingConfirmation" || u["userName"] != email || name["givenName"] != "Nora" || name["familyName"] != "Newman" {
			t.Errorf("the registered user = %v, want userName %s, names Nora Newman, accountState pendingConfirmation", u, email)
		}
		if _, ok := ext["passwordSetup"]; ok {
			t.Errorf("a registered user has passwordSetup %v, want none", ext["passwordSetup"])
		}
		if _, ok := u["password"]; ok {
			t.Errorf("GET /Users shows a password")
		}
		// Not confirmed: no sign-in, with the right password or any.
		if st := e.me("acme", email, regPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me before confirmation = %d, want 401", st)
		}
		login := b.get("/t/acme/accounts/login")
		b.post("/t/acme/accounts/login", url.Values{"csrf": {login.hidden(t, "csrf")}, "email": {email}, "password": {regPass}}).
			must(t, http.StatusUnauthorized, "Invalid email or password.")

		link := confirmLink(t, e.mail, email)
		if !strings.HasPrefix(link, e.srv.URL+"/t/acme/accounts/confirm?token=") {
			t.Fatalf("link %q, want under %s/t/acme/accounts/confirm", link, e.srv.URL)
		}
		token := link[strings.Index(link, "token=")+len("token="):]
		if len(token) != 43 {
			t.Errorf("token has %d characters, want 43", len(token))
		}
		sent := len(e.mail.Messages())
		if m := e.mail.Messages()[sent-1]; strings.Contains(m.Text+m.HTML, "Nora") {
			t.Errorf("the confirmation email repeats a name the registrant typed:\n%s", m.Text)
		}

		// The same email again (any case, another password): the same page,
		// no second user, and the owner is told.
		again := e.register("acme", "new.customer@example.COM", "Mallory", "Other", otherPass, otherPass)
		if again.status != fresh.status || again.url != fresh.url ||
			csrfInputRE.ReplaceAllString(again.body, "") != csrfInputRE.ReplaceAllString(fresh.body, "") {
			t.Errorf("registering a taken email answered %d at %s:\n%s\nwant what a new email gets, %d at %s:\n%s",
				again.status, again.url, again.body, fresh.status, fresh.url, fresh.body)
		}
		if ids := e.usersNamed(email); len(ids) != 1 || ids[0] != id {
			t.Errorf("users named %s after registering it again = %v, want only %s", email, ids, id)
		}
		msgs := e.mail.Messages()
		if len(msgs) != sent+1 {
			t.Fatalf("registering a taken email sent %d messages, want 1", len(msgs)-sent)
		}
		tried := msgs[len(msgs)-1]
		if !strings.EqualFold(tried.To, email) || !strings.Contains(tried.Subject, "Someone tried to register") ||
			!strings.Contains(tried.Text, "nothing was created or changed") {
			t.Errorf("message to the owner = %q %q:\n%s", tried.To, tried.Subject, tried.Text)
		}
		if strings.Contains(tried.Text+tried.HTML, "token=") || strings.Contains(tried.Text+tried.HTML, "/confirm") {
			t.Errorf("the attempt message carries a link that grants something:\n%s", tried.Text)
		}

		// The link's GET changes nothing (mail scanners fetch links).
		for range 2 {
			p := b.get(link).must(t, http.StatusOK, "Confirm your account", email, "Confirm my account")
			checkHeaders(t, p)
		}
		if s := e.state(id); s != "pendingConfirmation" {
			t.Fatalf("accountState after GETs of the link = %q, want pendingConfirmation", s)
		}
		// A forged CSRF token: refused, nothing changes.
		b.post("/t/acme/accounts/confirm", url.Values{"csrf": {"forged"}, "token": {token}}).must(t, http.StatusForbidden, "form has expired")
		if s := e.state(id); s != "pendingConfirmation" {
			t.Fatalf("accountState after a forged CSRF token = %q", s)
		}

		conf := b.get(link)
		done := b.post("/t/acme/accounts/confirm", url.Values{"csrf": {conf.hidden(t, "csrf")}, "token": {conf.hidden(t, "token")}}).
			must(t, http.StatusOK, "Your account is ready", "account is active")
		if !strings.HasSuffix(done.url, "/t/acme/accounts/confirmed") {
			t.Errorf("after confirming the browser is at %s, want .../confirmed", done.url)
		}
		noSecrets(t, done, token, regPass)
		if s := e.state(id); s != "active" {
			t.Errorf("accountState after confirming = %q, want active", s)
		}
		if st := e.me("acme", email, regPass); st != http.StatusOK {
			t.Errorf("GET /Me with the registered password = %d, want 200", st)
		}
		if st := e.me("acme", email, otherPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the second registrant's password = %d, want 401", st)
		}

		// The link works once.
		b.get(link).must(t, http.StatusNotFound, "not valid")
		b.post("/t/acme/accounts/confirm", url.Values{"csrf": {conf.hidden(t, "csrf")}, "token": {token}}).must(t, http.StatusNotFound, "not valid")

		// An active account registered again: the same page again.
		third := e.register("acme", email, "Nora", "Newman", regPass, regPass)
		if csrfInputRE.ReplaceAllString(third.body, "") != csrfInputRE.ReplaceAllString(fresh.body, "") || third.status != fresh.status {
			t.Errorf("registering an active account's email answered differently:\n%s", third.body)
		}
		if ids := e.usersNamed(email); len(ids) != 1 {
			t.Errorf("users named %s = %v, want one", email, ids)
		}

		// The audit trail: created by self-registration, confirmed by the
		// customer; no personal data.
		changes, err := e.store.Changes(context.Background(), "acme", 20)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, c := range changes {
			if c.ResourceID == id {
				seen = append(seen, c.Who+" "+string(c.Action))
			}
		}
		want := []string{"customer:" + id + " confirm", "self-registration register", "self-registration create"}
		if strings.Join(seen, ",") != strings.Join(want, ",") {
			t.Errorf("change log of the user = %v, want %v", seen, want)
		}
		logs := e.logs.String()
		for _, s := range []string{token, regPass, otherPass} {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds a secret (%q)", s)
			}
		}
	})
}

func TestRegistrationRefused(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		e.enable("globex", true)
		// Refused forms: a clear message on the field, nothing created, no mail.
		for _, c := range []struct{ email, given, family, pw, confirm, want, field string }{
			{"weak@example.com", "Wes", "Weak", "password123", "password123", "too common", "password"},
			{"weak@example.com", "Wes", "Weak", "short", "short", "at least 8 characters", "password"},
			{"weak@example.com", "Wes", "Weak", "weak@example.com", "weak@example.com", "email address", "password"},
			{"weak@example.com", "Wes", "Weak", regPass, regPass + "x", "do not match", "confirm"},
			{"not-an-email", "Wes", "Weak", regPass, regPass, "email address such as", "email"},
			{"", "Wes", "Weak", regPass, regPass, "Enter your email address", "email"},
			{"weak@example.com", " ", "Weak", regPass, regPass, "Enter your first name", "givenName"},
			{"weak@example.com", "Wes", "", regPass, regPass, "Enter your last name", "familyName"},
		} {
			p := e.register("acme", c.email, c.given, c.family, c.pw, c.confirm).
				must(t, http.StatusBadRequest, c.want, `role="alert"`, `aria-invalid="true"`, `id="`+c.field+`-error"`)
			noSecrets(t, p, regPass)
			if c.email != "" && c.field != "email" && !strings.Contains(p.body, `value="`+c.email+`"`) {
				t.Errorf("the refused form lost the email typed")
			}
		}
		if ids := e.usersNamed("weak@example.com"); len(ids) != 0 {
			t.Errorf("refused forms created users %v", ids)
		}
		if n := len(e.mail.Messages()); n != 0 {
			t.Errorf("refused forms sent %d messages", n)
		}
		// A form without its CSRF cookie: refused, nothing created.
		b := e.browser()
		form := b.get("/t/acme/accounts/register")
		e.browser().post("/t/acme/accounts/register", url.Values{"csrf": {form.hidden(t, "csrf")}, "email": {"csrf@example.com"},
			"givenName": {"C"}, "familyName": {"S"}, "password": {regPass}, "confirm": {regPass}}).must(t, http.StatusForbidden, "form has expired")
		if ids := e.usersNamed("csrf@example.com"); len(ids) != 0 {
			t.Errorf("a form without CSRF cookie created users %v", ids)
		}

		// Forged, truncated and missing tokens.
		e.register("acme", "tok@example.com", "To", "Ken", regPass, regPass).must(t, http.StatusOK, "Check your email")
		link := confirmLink(t, e.mail, "tok@example.com")
		token := link[strings.Index(link, "token=")+len("token="):]
		id := e.usersNamed("tok@example.com")[0]
		for _, q := range []string{"?token=" + strings.Repeat("A", 43), "?token=" + token[:20], "", "?token="} {
			b.get("/t/acme/accounts/confirm"+q).must(t, http.StatusNotFound, "not valid")
		}
		csrf := form.hidden(t, "csrf")
		for _, tok := range []string{strings.Repeat("A", 43), "", token + "x"} {
			b.post("/t/acme/accounts/confirm", url.Values{"csrf": {csrf}, "token": {tok}}).must(t, http.StatusNotFound, "not valid")
		}
		// An invitation token is not a confirmation token, nor the reverse.
		e.createCustomer("invited@example.com", "invite")
		invite := lastLink(t, e.mail)
		b.get("/t/acme/accounts/confirm?token="+invite[strings.Index(invite, "token=")+6:]).must(t, http.StatusNotFound, "not valid")
		b.get("/t/acme/accounts/invite?token="+token).must(t, http.StatusNotFound, "not valid")
		// Another organization's path.
		b.get("/t/globex/accounts/confirm?token="+token).must(t, http.StatusNotFound, "not valid")
		other := b.get("/t/globex/accounts/register")
		b.post("/t/globex/accounts/confirm", url.Values{"csrf": {other.hidden(t, "csrf")}, "token": {token}}).must(t, http.StatusNotFound, "not valid")
		if s := e.state(id); s != "pendingConfirmation" {
			t.Errorf("accountState after refused confirmations = %q, want pendingConfirmation", s)
		}
		// Turning registration off closes the link too; on again, it works.
		e.enable("acme", false)
		b.get(link).must(t, http.StatusNotFound, "Registration is not available")
		e.enable("acme", true)
		conf := b.get(link).must(t, http.StatusOK, "Confirm my account")
		b.post("/t/acme/accounts/confirm", url.Values{"csrf": {conf.hidden(t, "csrf")}, "token": {token}}).must(t, http.StatusOK, "Your account is ready")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
	})
}

func TestRegistrationMailFailure(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		ok := e.register("acme", "ok@example.com", "Ok", "Kay", regPass, regPass).must(t, http.StatusOK, "Check your email")
		e.mail.SetFail(true)
		failed := e.register("acme", "nomail@example.com", "No", "Mail", regPass, regPass)
		taken := e.register("acme", "ok@example.com", "Ok", "Kay", otherPass, otherPass)
		for _, p := range []page{failed, taken} {
			if p.status != ok.status || p.url != ok.url || p.body != ok.body {
				t.Errorf("with the mail down the answer is %d at %s:\n%s\nwant the usual %d at %s", p.status, p.url, p.body, ok.status, ok.url)
			}
		}
		ids := e.usersNamed("nomail@example.com")
		if len(ids) != 1 || e.state(ids[0]) != "pendingConfirmation" {
			t.Fatalf("users named nomail@example.com = %v, want one pendingConfirmation", ids)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "registration confirmation email not sent") || !strings.Contains(logs, ids[0]) ||
			!strings.Contains(logs, "registration attempt email not sent") {
			t.Errorf("the failures are not logged with the user id:\n%s", logs)
		}
		if strings.Contains(logs, "token=") || strings.Contains(logs, "/accounts/confirm") || strings.Contains(logs, regPass) {
			t.Errorf("the log holds the link or the password:\n%s", logs)
		}
	})
}

// TestRegistrationExpired: an expired link is refused; the stale
// registration is replaced when the same email registers again.
//
// The link's expiry is the store's (a Redis PX), so the test does not guess
// when it happens: it waits until the store reports the confirmation gone.
// Registering again must happen within the link's lifetime, and registering
// runs argon2id (slow under -race on a busy machine): when the link did not
// outlive it, that check proved nothing and the scenario runs again with a
// longer lifetime.
func TestRegistrationExpired(t *testing.T) {
	for _, v := range []string{"embedded", "redis"} {
		t.Run(v, func(t *testing.T) {
			url := ""
			if v == "redis" {
				url = redistest.Start(t)
			}
			for attempt, ttl := 1, 2*time.Second; ; attempt, ttl = attempt+1, ttl*4 {
				if registrationExpires(t, url, fmt.Sprintf("late%d@example.com", attempt), ttl) {
					return
				}
				if attempt == 3 {
					t.Fatalf("registering again took longer than a %s link's lifetime, three times", ttl)
				}
				t.Logf("registering again took longer than the link's lifetime (%s): again with a longer one", ttl)
			}
		})
	}
}

// registrationExpires runs TestRegistrationExpired's scenario for email with
// links that live ttl, and reports false, having checked nothing after it,
// when registering again did not happen within the first link's lifetime.
func registrationExpires(t *testing.T, url, email string, ttl time.Duration) bool {
	t.Helper()
	e := newEnvWith(t, url, func(o *resources.Onboarding) { o.ConfirmTTL = ttl })
	e.enable("acme", true)
	e.register("acme", email, "La", "Te", otherPass, otherPass).must(t, http.StatusOK, "Check your email")
	stale := confirmLink(t, e.mail, email)
	old := e.usersNamed(email)
	if len(old) != 1 {
		t.Fatalf("users named %s = %v, want one", email, old)
	}
	// Within the link's lifetime, registering again creates nothing.
	e.register("acme", email, "La", "Te", regPass, regPass).must(t, http.StatusOK, "Check your email")
	if !e.hasConfirmation(old[0]) {
		return false // expired before (or while) registering again
	}
	if ids := e.usersNamed(email); len(ids) != 1 || ids[0] != old[0] {
		t.Fatalf("users = %v, want only %v", ids, old)
	}
	// Wait for the store to expire the link (the PX set with it).
	for deadline := time.Now().Add(ttl + time.Minute); e.hasConfirmation(old[0]); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the confirmation of %s outlived its lifetime (%s) by a minute", old[0], ttl)
		}
	}
	e.browser().get(stale).must(t, http.StatusNotFound, "not valid", "expired")
	if s := e.state(old[0]); s != "pendingConfirmation" {
		t.Errorf("accountState = %q, want pendingConfirmation", s)
	}
	// After it: the new registration replaces the stale one.
	e.register("acme", email, "La", "Te", regPass, regPass).must(t, http.StatusOK, "Check your email")
	ids := e.usersNamed(email)
	if len(ids) != 1 || ids[0] == old[0] {
		t.Fatalf("users after registering again = %v, want one new user (not %s)", ids, old[0])
	}
	b := e.browser()
	conf := b.get(confirmLink(t, e.mail, email)).must(t, http.StatusOK, "Confirm my account")
	b.post("/t/acme/accounts/confirm", map[string][]string{"csrf": {conf.hidden(t, "csrf")}, "token": {conf.hidden(t, "token")}}).
		must(t, http.StatusOK, "Your account is ready")
	if st := e.me("acme", email, regPass); st != http.StatusOK {
		t.Errorf("GET /Me with the new registration's password = %d, want 200", st)
	}
	if st := e.me("acme", email, otherPass); st != http.StatusUnauthorized {
		t.Errorf("GET /Me with the stale registration's password = %d, want 401", st)
	}
	return true
}

// hasConfirmation reports whether the store still holds a confirmation link
// of acme's user id: false once it expired.
func (e *env) hasConfirmation(id string) bool {
	e.t.Helper()
	live, err := e.store.HasConfirmation(context.Background(), "acme", id)
	if err != nil {
		e.t.Fatalf("HasConfirmation(acme, %s): %v", id, err)
	}
	return live
}
