package accounts_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/notify/mailtest"
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
	form := b.Get("/t/"+org+"/accounts/register").Must(e.t, http.StatusOK, "Create your account")
	return b.Post("/t/"+org+"/accounts/register", url.Values{"csrf": {form.Hidden(e.t, "csrf")}, "email": {email},
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
			p := b.Get("/t/acme/accounts/register").Must(t, http.StatusNotFound, "Registration is not available", "does not offer self-registration")
			checkHeaders(t, p)
			if strings.Contains(p.Body, `name="password"`) {
				t.Errorf("the closed page shows the form")
			}
			login := b.Get("/t/acme/accounts/login")
			b.Post("/t/acme/accounts/register", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"new@example.com"},
				"givenName": {"New"}, "familyName": {"Person"}, "password": {regPass}, "confirm": {regPass}}).
				Must(t, http.StatusNotFound, "Registration is not available")
			for _, path := range []string{"registered", "confirm?token=" + strings.Repeat("A", 43), "confirmed"} {
				b.Get("/t/acme/accounts/"+path).Must(t, http.StatusNotFound, "Registration is not available")
			}
			b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {login.Hidden(t, "csrf")}, "token": {"x"}}).
				Must(t, http.StatusNotFound, "Registration is not available")
		}
		// A name no organization has: the same page.
		b.Get("/t/nosuchorg/accounts/register").Must(t, http.StatusNotFound, "Registration is not available")
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
		form := b.Get("/t/acme/accounts/register").Must(t, http.StatusOK, `<html lang="en">`, "Create your account",
			`<label for="email">`, `<label for="givenName">`, `<label for="familyName">`, `<label for="password">`, `<label for="confirm">`,
			`autocomplete="email"`, `autocomplete="given-name"`, `autocomplete="family-name"`, `autocomplete="new-password"`,
			`aria-describedby="password-hint"`, `href="login"`)
		checkHeaders(t, form)
		if strings.Contains(form.Body, "<script") {
			t.Errorf("the page has a script")
		}
		fresh := b.Post("/t/acme/accounts/register", url.Values{"csrf": {form.Hidden(t, "csrf")}, "email": {email},
			"givenName": {"Nora"}, "familyName": {"Newman"}, "password": {regPass}, "confirm": {regPass}}).
			Must(t, http.StatusOK, "Check your email")
		if !strings.HasSuffix(fresh.URL, "/t/acme/accounts/registered") {
			t.Errorf("after registering the browser is at %s, want .../registered (303 See Other)", fresh.URL)
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
		login := b.Get("/t/acme/accounts/login")
		b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {email}, "password": {regPass}}).
			Must(t, http.StatusUnauthorized, "Invalid email or password.")

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

		// The same email again (any case, other names and password) while
		// it waits for confirmation: the same page, no second user; the
		// registration is replaced and a new link sent, the first revoked.
		again := e.register("acme", "new.customer@example.COM", "Mallory", "Other", otherPass, otherPass)
		if again.Status != fresh.Status || again.URL != fresh.URL ||
			csrfInputRE.ReplaceAllString(again.Body, "") != csrfInputRE.ReplaceAllString(fresh.Body, "") {
			t.Errorf("registering a pending email answered %d at %s:\n%s\nwant what a new email gets, %d at %s:\n%s",
				again.Status, again.URL, again.Body, fresh.Status, fresh.URL, fresh.Body)
		}
		if ids := e.usersNamed(email); len(ids) != 1 || ids[0] != id {
			t.Errorf("users named %s after registering it again = %v, want only %s", email, ids, id)
		}
		if n := len(e.mail.Messages()); n != sent+1 {
			t.Fatalf("registering a pending email sent %d messages, want 1", n-sent)
		}
		replaced := confirmLink(t, e.mail, email)
		if replaced == link {
			t.Fatalf("registering again sent the same link")
		}
		b.Get(link).Must(t, http.StatusNotFound, "not valid")
		_, u = e.scim("GET", "/Users/"+id, nil)
		if name, _ := u["name"].(map[string]any); name["givenName"] != "Mallory" || e.state(id) != "pendingConfirmation" {
			t.Errorf("the replaced registration = %v, want names Mallory Other, pendingConfirmation", u)
		}
		// The first registrant registers once more: theirs is the newest.
		e.register("acme", email, "Nora", "Newman", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		link = confirmLink(t, e.mail, email)
		token = link[strings.Index(link, "token=")+len("token="):]
		b.Get(replaced).Must(t, http.StatusNotFound, "not valid")

		// The link's GET changes nothing (mail scanners fetch links).
		for range 2 {
			p := b.Get(link).Must(t, http.StatusOK, "Confirm your account", email, "Confirm my account",
				`autocomplete="current-password"`, `autocomplete="username"`, `<label for="password">`)
			checkHeaders(t, p)
		}
		if s := e.state(id); s != "pendingConfirmation" {
			t.Fatalf("accountState after GETs of the link = %q, want pendingConfirmation", s)
		}
		conf := b.Get(link)
		confirm := func(csrf, pw string) page {
			return b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {csrf}, "token": {tokenOf(t, conf)}, "password": {pw}})
		}
		// A forged CSRF token: refused, nothing changes.
		confirm("forged", regPass).Must(t, http.StatusForbidden, "form has expired")
		// No password, or another one (the replaced registration's): refused
		// with a message on the field; the link keeps working.
		confirm(conf.Hidden(t, "csrf"), "").Must(t, http.StatusBadRequest, "Enter the password you chose", `id="password-error"`)
		wrong := confirm(conf.Hidden(t, "csrf"), otherPass).Must(t, http.StatusUnauthorized,
			"not the password chosen when this account was registered", `id="password-error"`, `aria-invalid="true"`, "Register again")
		noSecrets(t, wrong, otherPass, regPass)
		if s := e.state(id); s != "pendingConfirmation" {
			t.Fatalf("accountState after refused confirmations = %q", s)
		}

		done := confirm(conf.Hidden(t, "csrf"), regPass).Must(t, http.StatusOK, "Your account is ready", "account is active")
		if !strings.HasSuffix(done.URL, "/t/acme/accounts/confirmed") {
			t.Errorf("after confirming the browser is at %s, want .../confirmed", done.URL)
		}
		noSecrets(t, done, token, regPass)
		if s := e.state(id); s != "active" {
			t.Errorf("accountState after confirming = %q, want active", s)
		}
		if st := e.me("acme", email, regPass); st != http.StatusOK {
			t.Errorf("GET /Me with the registered password = %d, want 200", st)
		}
		if st := e.me("acme", email, otherPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the replaced registration's password = %d, want 401", st)
		}

		// The link works once.
		b.Get(link).Must(t, http.StatusNotFound, "not valid")
		confirm(conf.Hidden(t, "csrf"), regPass).Must(t, http.StatusNotFound, "not valid")

		// An active account registered again: the same page again, nothing
		// changes, and the owner is told, with nothing that grants anything.
		sent = len(e.mail.Messages())
		third := e.register("acme", email, "Mallory", "Other", otherPass, otherPass)
		if csrfInputRE.ReplaceAllString(third.Body, "") != csrfInputRE.ReplaceAllString(fresh.Body, "") || third.Status != fresh.Status {
			t.Errorf("registering an active account's email answered differently:\n%s", third.Body)
		}
		if ids := e.usersNamed(email); len(ids) != 1 {
			t.Errorf("users named %s = %v, want one", email, ids)
		}
		msgs := e.mail.Messages()
		if len(msgs) != sent+1 {
			t.Fatalf("registering a taken email sent %d messages, want 1", len(msgs)-sent)
		}
		tried := msgs[len(msgs)-1]
		if !strings.EqualFold(tried.To, email) || !strings.Contains(tried.Subject, "Someone tried to register") ||
			!strings.Contains(tried.Text, "nothing was created or changed") || !strings.Contains(tried.Text, "sign in with your password") {
			t.Errorf("message to the owner = %q %q:\n%s", tried.To, tried.Subject, tried.Text)
		}
		if strings.Contains(tried.Text+tried.HTML, "token=") || strings.Contains(tried.Text+tried.HTML, "/confirm") ||
			strings.Contains(tried.Text+tried.HTML, "confirmation email") {
			t.Errorf("the attempt message carries or points to a link that grants something:\n%s", tried.Text)
		}
		if st := e.me("acme", email, regPass); st != http.StatusOK {
			t.Errorf("GET /Me after another registration = %d, want 200 with the confirmed password", st)
		}

		// The audit trail: created by self-registration, replaced twice,
		// confirmed by the customer; no personal data.
		want := []string{"self-registration create", "self-registration register", "self-registration replace", "self-registration register",
			"self-registration replace", "self-registration register", "customer:" + id + " confirm"}
		if got := e.changeLog(id); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("change log of the user = %v, want %v", got, want)
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
			{"weak@example.com", "Wes", "Weak", "password123", "password123", "too easy to guess", "password"},
			{"weak@example.com", "Wes", "Weak", "short", "short", "at least 8 characters", "password"},
			{"weak@example.com", "Wes", "Weak", "weak@example.com", "weak@example.com", "email address", "password"},
			{"weak@example.com", "Wes", "Weak", regPass, regPass + "x", "do not match", "confirm"},
			{"not-an-email", "Wes", "Weak", regPass, regPass, "email address such as", "email"},
			{"", "Wes", "Weak", regPass, regPass, "Enter your email address", "email"},
			{"weak@example.com", " ", "Weak", regPass, regPass, "Enter your first name", "givenName"},
			{"weak@example.com", "Wes", "", regPass, regPass, "Enter your last name", "familyName"},
		} {
			p := e.register("acme", c.email, c.given, c.family, c.pw, c.confirm).
				Must(t, http.StatusBadRequest, c.want, `role="alert"`, `aria-invalid="true"`, `id="`+c.field+`-error"`)
			noSecrets(t, p, regPass)
			if c.email != "" && c.field != "email" && !strings.Contains(p.Body, `value="`+c.email+`"`) {
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
		form := b.Get("/t/acme/accounts/register")
		e.browser().Post("/t/acme/accounts/register", url.Values{"csrf": {form.Hidden(t, "csrf")}, "email": {"csrf@example.com"},
			"givenName": {"C"}, "familyName": {"S"}, "password": {regPass}, "confirm": {regPass}}).Must(t, http.StatusForbidden, "form has expired")
		if ids := e.usersNamed("csrf@example.com"); len(ids) != 0 {
			t.Errorf("a form without CSRF cookie created users %v", ids)
		}

		// Forged, truncated and missing tokens.
		e.register("acme", "tok@example.com", "To", "Ken", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		link := confirmLink(t, e.mail, "tok@example.com")
		token := link[strings.Index(link, "token=")+len("token="):]
		id := e.usersNamed("tok@example.com")[0]
		for _, q := range []string{"?token=" + strings.Repeat("A", 43), "?token=" + token[:20], "", "?token="} {
			b.Get("/t/acme/accounts/confirm"+q).Must(t, http.StatusNotFound, "not valid")
		}
		csrf := form.Hidden(t, "csrf")
		for _, tok := range []string{strings.Repeat("A", 43), "", token + "x"} {
			b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {csrf}, "token": {tok}}).Must(t, http.StatusNotFound, "not valid")
		}
		// An invitation token is not a confirmation token, nor the reverse.
		e.createCustomer("invited@example.com", "invite")
		invite := lastLink(t, e.mail)
		b.Get("/t/acme/accounts/confirm?token="+invite[strings.Index(invite, "token=")+6:]).Must(t, http.StatusNotFound, "not valid")
		b.Get("/t/acme/accounts/invite?token="+token).Must(t, http.StatusNotFound, "not valid")
		// Another organization's path.
		b.Get("/t/globex/accounts/confirm?token="+token).Must(t, http.StatusNotFound, "not valid")
		other := b.Get("/t/globex/accounts/register")
		b.Post("/t/globex/accounts/confirm", url.Values{"csrf": {other.Hidden(t, "csrf")}, "token": {token}}).Must(t, http.StatusNotFound, "not valid")
		if s := e.state(id); s != "pendingConfirmation" {
			t.Errorf("accountState after refused confirmations = %q, want pendingConfirmation", s)
		}
		// Turning registration off closes the link too; on again, it works.
		e.enable("acme", false)
		b.Get(link).Must(t, http.StatusNotFound, "Registration is not available")
		e.enable("acme", true)
		conf := b.Get(link).Must(t, http.StatusOK, "Confirm my account")
		b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {conf.Hidden(t, "csrf")}, "token": {token}, "password": {regPass}}).
			Must(t, http.StatusOK, "Your account is ready")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
	})
}

func TestRegistrationMailFailure(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		ok := e.register("acme", "ok@example.com", "Ok", "Kay", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		e.createCustomer("taken@example.com", tempPass)
		e.mail.SetFail(true)
		failed := e.register("acme", "nomail@example.com", "No", "Mail", regPass, regPass)
		taken := e.register("acme", "taken@example.com", "Ok", "Kay", otherPass, otherPass)
		for _, p := range []page{failed, taken} {
			if p.Status != ok.Status || p.URL != ok.URL || p.Body != ok.Body {
				t.Errorf("with the mail down the answer is %d at %s:\n%s\nwant the usual %d at %s", p.Status, p.URL, p.Body, ok.Status, ok.URL)
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

// TestRegistrationExpired: an expired link is refused; registering the same
// email again replaces the registration, and the new link works.
func TestRegistrationExpired(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		// Long enough for the new link to outlive its own confirmation:
		// registering and confirming each run argon2id, slow under -race
		// on a loaded machine (500 ms was seen to expire the new link).
		const ttl = 2 * time.Second
		e := newEnvWith(t, url, func(o *resources.Onboarding) { o.ConfirmTTL = ttl })
		e.enable("acme", true)
		e.register("acme", "late@example.com", "La", "Te", otherPass, otherPass).Must(t, http.StatusOK, "Check your email")
		stale := confirmLink(t, e.mail, "late@example.com")
		old := e.usersNamed("late@example.com")
		time.Sleep(ttl + 300*time.Millisecond)
		e.browser().Get(stale).Must(t, http.StatusNotFound, "not valid", "expired")
		if s := e.state(old[0]); s != "pendingConfirmation" {
			t.Errorf("accountState = %q, want pendingConfirmation", s)
		}
		// Registering again replaces the stale registration in place.
		e.register("acme", "late@example.com", "La", "Te", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		if ids := e.usersNamed("late@example.com"); len(ids) != 1 || ids[0] != old[0] {
			t.Fatalf("users after registering again = %v, want only %s", ids, old[0])
		}
		e.confirm(confirmLink(t, e.mail, "late@example.com"), regPass).Must(t, http.StatusOK, "Your account is ready")
		if st := e.me("acme", "late@example.com", regPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new registration's password = %d, want 200", st)
		}
		if st := e.me("acme", "late@example.com", otherPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the stale registration's password = %d, want 401", st)
		}
	})
}

// TestRegistrationTakeoverRefused: someone registers another person's
// address with a password of their own. The address's owner, who receives
// the link, cannot activate that password with it, and registering the
// address themselves replaces the registration: the link they then get is
// the only one that works, and only with their password.
func TestRegistrationTakeoverRefused(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		const victim, attackerPass = "victim@example.com", "Attacker-Chose-This-1"
		e.register("acme", victim, "Vic", "Tim", attackerPass, attackerPass).Must(t, http.StatusOK, "Check your email")
		id := e.usersNamed(victim)[0]
		first := confirmLink(t, e.mail, victim)

		// The owner opens the link they got and types their own password:
		// refused, nothing activated, the link not used up.
		e.confirm(first, regPass).Must(t, http.StatusUnauthorized, "not the password chosen")
		if s := e.state(id); s != "pendingConfirmation" {
			t.Fatalf("accountState after a wrong password = %q, want pendingConfirmation", s)
		}
		e.browser().Get(first).Must(t, http.StatusOK, "Confirm my account")

		// The owner registers: a new confirmation (not "someone tried"), and
		// the first link is dead, with any password.
		e.register("acme", victim, "Victoria", "Tim", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		last := e.mail.Last(t)
		if strings.Contains(last.Subject, "Someone tried") || strings.Contains(last.Text, "confirmation email we sent you before") {
			t.Errorf("registering a pending address sent %q:\n%s\nwant a new confirmation link", last.Subject, last.Text)
		}
		second := confirmLink(t, e.mail, victim)
		e.confirm(first, attackerPass).Must(t, http.StatusNotFound, "not valid")
		e.confirm(second, attackerPass).Must(t, http.StatusUnauthorized, "not the password chosen")
		e.confirm(second, regPass).Must(t, http.StatusOK, "Your account is ready")

		if st := e.me("acme", victim, attackerPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the first registrant's password = %d, want 401", st)
		}
		if st := e.me("acme", victim, regPass); st != http.StatusOK {
			t.Errorf("GET /Me with the owner's password = %d, want 200", st)
		}
		if ids := e.usersNamed(victim); len(ids) != 1 || ids[0] != id {
			t.Errorf("users named %s = %v, want only %s", victim, ids, id)
		}
	})
}

// TestRegistrationOfExistingAccount: registering the address of an account
// that is not a pending registration changes nothing, and the email to the
// address says what its owner can do, given the account's state.
func TestRegistrationOfExistingAccount(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		invited := e.createCustomer("invited@example.com", "invite")
		temp := e.createCustomer("temp@example.com", tempPass)
		for _, c := range []struct {
			email, id     string
			want, notWant []string
		}{
			{"invited@example.com", invited, []string{"sent an invitation", "ask an administrator of acme to send you a new one"},
				[]string{"sign in", "Sign in", "/accounts/login", "existing password"}},
			{"temp@example.com", temp, []string{"temporary password", "/accounts/login"}, []string{"confirmation email"}},
		} {
			before := e.state(c.id)
			e.register("acme", c.email, "Mal", "Lory", otherPass, otherPass).Must(t, http.StatusOK, "Check your email")
			m := e.mail.Last(t)
			if m.To != c.email || !strings.Contains(m.Subject, "Someone tried to register") {
				t.Fatalf("last message = to %q, %q; want the attempt message to %s", m.To, m.Subject, c.email)
			}
			for _, s := range c.want {
				if !strings.Contains(m.Text+m.HTML, s) {
					t.Errorf("the message to %s lacks %q:\n%s", c.email, s, m.Text)
				}
			}
			for _, s := range append(c.notWant, "token=") {
				if strings.Contains(m.Text+m.HTML, s) {
					t.Errorf("the message to %s has %q:\n%s", c.email, s, m.Text)
				}
			}
			if s := e.state(c.id); s != before {
				t.Errorf("accountState of %s = %q after a registration, want %q", c.email, s, before)
			}
		}
		if st := e.me("acme", "temp@example.com", otherPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the registrant's password = %d, want 401", st)
		}
	})
}

// confirm opens a confirmation link with a new browser and submits its form
// with password.
func (e *env) confirm(link, password string) page {
	e.t.Helper()
	b := e.browser()
	form := b.Get(link)
	if form.Status != http.StatusOK {
		return form
	}
	return b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {form.Hidden(e.t, "csrf")}, "token": {tokenOf(e.t, form)}, "password": {password}})
}
