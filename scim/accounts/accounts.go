package accounts

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/web"
)

//go:embed templates
var files embed.FS

// Cookie names. All are scoped to /t/{org}/accounts/, HttpOnly and
// SameSite=Strict.
const (
	csrfCookie   = "scimd_csrf"
	ticketCookie = "scimd_ticket"
	// sessionCookie holds a signed-in customer's session secret
	// (resources.CustomerSessions).
	sessionCookie = "scimd_session"
	// doneCookie carries, from a form that succeeded to the page it
	// redirects to, what succeeded (a flash): the done and confirmed pages
	// say only what happened to this browser's form.
	doneCookie = "scimd_done"
)

// What a done or confirmed page shows, as doneCookie carries it.
const (
	donePassword  = "password"  // a password set from a link or ticket
	doneConfirmed = "confirmed" // a registration confirmed
	// doneDisabled follows either when the organization disabled the
	// account (active false): the customer cannot sign in yet.
	doneDisabled = "-disabled"
	// doneSignedOut follows signing out: the sign-in page says so.
	doneSignedOut = "signed-out"
)

// maxFormBytes bounds a form body: a few fields, passwords at most
// resources.MaxPasswordLength characters.
const maxFormBytes = 16 << 10

// Config configures the pages.
type Config struct {
	// SecureCookies marks the cookies Secure (sent over HTTPS only): set it
	// when the public URL is https.
	SecureCookies bool
	// Limiter, when set, counts the pages' failed password checks (sign-in,
	// confirming a registration) against the client's address, with the
	// server's other failed authentications (/Me, bearer tokens), and refuses
	// an address that used up its failures. nil: no limit here.
	Limiter web.AuthLimiter
	// Orgs, when set, names the organization on every page by its display
	// name (resources.OrgSettings.DisplayName), as the console does; nil,
	// or no display name: its slug.
	Orgs OrgNames
	// Sessions keeps the sessions of signed-in customers, who then see
	// their profile. nil: signing in only says so, and shows no profile.
	Sessions *resources.CustomerSessions
}

// OrgNames reads an organization's settings; *resources.Orgs implements it.
type OrgNames interface {
	Settings(ctx context.Context, org string) (resources.OrgSettings, error)
}

// StyleSheet returns the customer pages' style sheet, which the
// administrators' console extends: one style for every page scimd serves.
func StyleSheet() []byte {
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return css
}

// Handler serves the customer pages; mount it at "/t/{org}/accounts/".
type Handler struct {
	cfg   Config
	users *resources.Users
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	css   []byte
	// background counts the forgot-password work running after its
	// answer (see Wait).
	background sync.WaitGroup
}

// New returns the customer pages' handler. users must have onboarding
// configured (resources.Users.WithOnboarding) for invitations,
// password-change tickets and self-registration to work.
func New(cfg Config, users *resources.Users, log *slog.Logger) *Handler {
	h := &Handler{cfg: cfg, users: users, log: log, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	for _, name := range []string{"invite", "login", "change-password", "message", "register", "confirm", "profile", "forgot-password"} {
		h.pages[name] = template.Must(template.ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	h.css = StyleSheet()
	const base = notify.AccountsPages
	h.mux.HandleFunc("GET "+notify.Invite, h.inviteForm)
	h.mux.HandleFunc("POST "+notify.Invite, h.acceptInvite)
	h.mux.HandleFunc("GET "+notify.SignIn, h.loginForm)
	h.mux.HandleFunc("POST "+notify.SignIn, h.login)
	h.mux.HandleFunc("GET "+base+"change-password", h.changeForm)
	h.mux.HandleFunc("POST "+base+"change-password", h.changePassword)
	h.mux.HandleFunc("GET "+base+"done", h.done)
	h.mux.HandleFunc("GET "+base+"profile", h.profile)
	h.mux.HandleFunc("POST "+base+"signout", h.signOut)
	h.mux.HandleFunc("GET "+base+"forgot-password", h.forgotForm)
	h.mux.HandleFunc("POST "+base+"forgot-password", h.forgotPassword)
	h.mux.HandleFunc("GET "+base+"reset-requested", h.resetRequested)
	h.mux.HandleFunc("GET "+notify.Register, h.registerPage)
	h.mux.HandleFunc("POST "+notify.Register, h.register)
	h.mux.HandleFunc("GET "+base+"registered", h.registered)
	h.mux.HandleFunc("GET "+notify.Confirm, h.confirmForm)
	h.mux.HandleFunc("POST "+notify.Confirm, h.confirm)
	h.mux.HandleFunc("GET "+base+"confirmed", h.confirmed)
	h.mux.HandleFunc("GET "+base+"style.css", h.style)
	h.mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		h.message(w, r, http.StatusNotFound, "Page not found", []string{"There is no page at this address."}, nil)
	})
	return h
}

// ServeHTTP implements http.Handler: the security headers, a 404 for an
// organization no organization can be called, then the routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	web.ServeOrgPages(w, r, h.mux)
}

// link is a call to action on a message page.
type link struct{ Href, Text string }

// formError is one entry of a form's error summary: a problem of the field
// whose id is Field ("" for the form as a whole), in a sentence.
type formError struct{ Field, Text string }

// page is what a template renders.
type page struct {
	// Org is the organization's slug (its pages' path); OrgName is what
	// people read: its display name, else the slug. Account is the userName
	// of the account a password form is for; Email the address a
	// registration confirms.
	Title, Org, OrgName, CSRF, Account, Email, Token string
	// AnyUserNames marks an organization whose customers sign in with a
	// username that need not be their email address (userNameFormat any).
	AnyUserNames bool
	// Alert is a problem of the whole form (an expired form); Errors are
	// the problems of its fields. The error summary at the top of the page
	// shows each once, linked to its field (GOV.UK's error summary): the
	// field is marked invalid and described by its entry (web.Field.Describe
	// names "<id>-error", the entry's id), not given a second copy.
	Alert  string
	Errors []formError
	// Notice says what just happened (signed out), as a status.
	Notice string
	// Reset marks the invitation page of a password reset.
	Reset      bool
	Fields     []web.Field
	Paragraphs []string
	Link       *link
	// Profile is the signed-in customer's profile page.
	Profile *profile
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Org = r.PathValue("org")
	p.OrgName = h.orgName(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := h.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
	}
}

// orgName is the name people read of the request's organization: its
// display name (Config.Orgs), else its slug. A store that cannot answer
// leaves the slug: a page is still worth showing.
func (h *Handler) orgName(r *http.Request) string {
	org := r.PathValue("org")
	if h.cfg.Orgs == nil {
		return org
	}
	s, err := h.cfg.Orgs.Settings(r.Context(), org)
	if err != nil {
		h.log.WarnContext(r.Context(), "read organization name", "org", org, "err", err)
		return org
	}
	if s.DisplayName != "" {
		return s.DisplayName
	}
	return org
}

// message renders a page of paragraphs and an optional link.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, title string, paragraphs []string, l *link) {
	h.render(w, r, status, "message", page{Title: title, Paragraphs: paragraphs, Link: l})
}

// unavailableText is what a page says when the store could not answer: that
// nothing was changed, unless a change was sent and its answer lost.
func unavailableText(err error) string {
	if errors.Is(err, resources.ErrOutcomeUnknown) {
		return "We could not confirm that your change was saved: it may have been. Please wait a few seconds, then check before trying again."
	}
	return "This page cannot be reached for a moment, and nothing was changed. Please try again in a few seconds."
}

// failed answers an unexpected error: logged with its cause, shown as a
// generic page.
// A store that cannot be reached is 503 with Retry-After, as on the API.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, err error) {
	if resources.ErrorCode(err) == resources.Unavailable {
		h.log.WarnContext(r.Context(), "accounts page unavailable", "org", r.PathValue("org"), "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		h.message(w, r, http.StatusServiceUnavailable, "Please try again shortly", []string{unavailableText(err)}, nil)
		return
	}
	h.log.ErrorContext(r.Context(), "accounts page failed", "org", r.PathValue("org"), "method", r.Method, "path", r.URL.Path, "err", err)
	h.message(w, r, http.StatusInternalServerError, "Something went wrong",
		[]string{"Something went wrong on our side, and nothing was changed. Please try again in a few minutes."}, nil)
}

func (h *Handler) style(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.css)
}

// cookie returns a cookie scoped to this organization's pages.
func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return web.Cookie(name, value, pagesPath(r), maxAge, h.cfg.SecureCookies)
}

// pagesPath is the path of the request's organization's pages.
func pagesPath(r *http.Request) string { return "/t/" + r.PathValue("org") + "/accounts/" }

// csrfToken returns the request's CSRF token, setting a new cookie when it
// has none (double-submit: the form field must match the cookie).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	return web.CSRFToken(w, r, csrfCookie, pagesPath(r), h.cfg.SecureCookies)
}

// parseForm reads a bounded form body and checks its CSRF token. When the
// body cannot be read it answers and returns ok false; a failed CSRF check
// (csrfOK false) is left to the caller, which shows its form again.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) (csrfOK, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read. Go back and try again."}, nil)
		return false, false
	}
	return web.CSRFMatches(r, csrfCookie), true
}

// expiredForm is the alert of a form whose CSRF check failed.
const expiredForm = "For your security, this form has expired. Please fill it in and submit it again."

// passwordHint is the hint of every new-password field: the policy of
// resources.PasswordProblem, in a customer's words.
const passwordHint = "At least 8 characters, and hard to guess: not your username, email address or name, not a common password or pattern. Three or four unrelated words work well."

// passwordFields are the account's name (accountField), the new-password
// and confirmation inputs; the focus is on the new password, unless only the
// confirmation is in error.
func passwordFields(account web.Field, pwErr, confirmErr string) []web.Field {
	focusConfirm := pwErr == "" && confirmErr != ""
	return []web.Field{
		account,
		{ID: "password", Name: "password", Type: "password", Label: "New password", Autocomplete: "new-password",
			Hint:  passwordHint,
			Error: pwErr, MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength, Autofocus: !focusConfirm},
		{ID: "confirm", Name: "confirm", Type: "password", Label: "Confirm new password", Autocomplete: "new-password",
			Error: confirmErr, MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength, Autofocus: focusConfirm},
	}
}

// fieldErrors are the error summary's entries of fields, in the order of
// the fields: each field's Error.
func fieldErrors(fields []web.Field) []formError {
	var errs []formError
	for _, f := range fields {
		if f.Error != "" {
			errs = append(errs, formError{Field: f.ID, Text: f.Error})
		}
	}
	return errs
}

// mismatch is the confirmation field's message when the two passwords differ.
const mismatch = "The two passwords do not match. Type the same password twice."

// passwordSentence is one sentence of all of a password's problems
// (resources.PasswordProblems) about subject ("Your new password must be at
// least 8 characters long, and is too easy to guess: …"), or "" when there
// are none.
func passwordSentence(subject string, problems []string) string {
	switch n := len(problems); n {
	case 0:
		return ""
	case 1:
		return subject + " " + problems[0] + "."
	default:
		return subject + " " + strings.Join(problems[:n-1], ", ") + ", and " + problems[n-1] + "."
	}
}

// checkNew checks the new password of account u and its confirmation
// before anything is stored; it returns the messages of the two fields:
// every problem of the password, and whether the confirmation differs, at
// once.
func checkNew(password, confirm string, u resources.Resource) (pwErr, confirmErr string) {
	pwErr = passwordSentence("Your new password", resources.AccountPasswordProblems(resources.Secret(password), u))
	if password != confirm {
		confirmErr = mismatch
	}
	return pwErr, confirmErr
}

func (h *Handler) invalidInvitation(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Invitation not valid", []string{resources.ErrInvalidInvitation.Detail}, nil)
}

// inviteForm shows the form of a usable invitation, or why it is not.
func (h *Handler) inviteForm(w http.ResponseWriter, r *http.Request) {
	org, token := r.PathValue("org"), resources.Secret(r.URL.Query().Get("token"))
	u, err := h.users.Invitation(r.Context(), org, token)
	if errors.Is(err, resources.ErrInvalidInvitation) {
		h.invalidInvitation(w, r)
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	name := userName(u)
	title, reset := inviteTitle(u)
	h.render(w, r, http.StatusOK, "invite", page{Title: title, Reset: reset, CSRF: h.csrfToken(w, r), Account: name,
		Token: token.Reveal(), Fields: passwordFields(accountField(name, h.userNameFormat(r)), "", "")})
}

// inviteTitle is the title of the invitation page of account u, and whether
// its link is a password reset: an account that has a password
// (resources.Users.ResendInvitation), which keeps working until the new one
// is saved.
func inviteTitle(u resources.Resource) (string, bool) {
	switch accountState(u) {
	case schemas.AccountStateActive, schemas.AccountStatePasswordChangeRequired:
		return "Choose a new password", true
	}
	return "Set your password", false
}

// acceptInvite sets the password of an invitation's account.
func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	org, token := r.PathValue("org"), linkToken(r)
	h.setPassword(w, r, csrfOK, newPasswordForm{
		page: "invite", title: inviteTitle, token: token.Reveal(),
		account: func() (resources.Resource, error) { return h.users.Invitation(r.Context(), org, token) },
		invalid: resources.ErrInvalidInvitation, refuse: h.invalidInvitation,
		set: func(pw resources.Secret) (resources.Resource, error) {
			return h.users.AcceptInvitation(r.Context(), org, token, pw)
		},
	})
}

// newPasswordForm is one of the forms where a customer chooses a password
// for an account a link or ticket names: accepting an invitation, replacing
// a temporary password.
type newPasswordForm struct {
	page, token string
	// title is the page's title for the account, and whether the form
	// replaces a password that works (a reset).
	title func(resources.Resource) (string, bool)
	// account finds the account; invalid is its error for an unusable link
	// or ticket, answered by refuse.
	account func() (resources.Resource, error)
	invalid error
	refuse  func(http.ResponseWriter, *http.Request)
	// set sets the password and returns the account as written; done runs
	// after it succeeded.
	set  func(resources.Secret) (resources.Resource, error)
	done func()
}

// setPassword handles the submission of a newPasswordForm, already parsed
// (csrfOK from parseForm): the password rules with messages next to the
// fields, then the change.
func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, csrfOK bool, f newPasswordForm) {
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	u, err := f.account()
	if errors.Is(err, f.invalid) {
		f.refuse(w, r)
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	name := userName(u)
	title, reset := f.title(u)
	form := func(status int, alert, pwErr, confirmErr string) {
		fields := passwordFields(accountField(name, h.userNameFormat(r)), pwErr, confirmErr)
		h.render(w, r, status, f.page, page{Title: title, Reset: reset, CSRF: h.csrfToken(w, r), Account: name,
			Token: f.token, Alert: alert, Errors: fieldErrors(fields), Fields: fields})
	}
	if !csrfOK {
		form(http.StatusForbidden, expiredForm, "", "")
		return
	}
	if pwErr, confirmErr := checkNew(password, confirm, u); pwErr != "" || confirmErr != "" {
		form(http.StatusBadRequest, "", pwErr, confirmErr)
		return
	}
	u, err = f.set(resources.Secret(password))
	switch {
	case errors.Is(err, f.invalid):
		f.refuse(w, r)
	case resources.ErrorCode(err) == resources.InvalidValue:
		msg := resources.Error{}
		errors.As(err, &msg)
		form(http.StatusBadRequest, "", msg.Detail, "")
	case err != nil:
		h.failed(w, r, err)
	default:
		if f.done != nil {
			f.done()
		}
		h.flash(w, r, donePassword, u)
		http.Redirect(w, r, "done", http.StatusSeeOther)
	}
}

// invalidSignIn is the one answer to a failed sign-in under userNameFormat
// format ("Invalid email or password."): it does not tell whether the email
// or username has an account.
func invalidSignIn(format string) string { return "Invalid " + loginWord(format) + " or password." }

// loginFields are the sign-in inputs under userNameFormat format. A failed
// sign-in is one problem of the pair, shown once and linked to the email or
// username field, where the customer starts again.
func loginFields(login, format string, failed bool) []web.Field {
	errMsg := ""
	if failed {
		errMsg = invalidSignIn(format)
	}
	return []web.Field{
		signInField(login, format, errMsg),
		{ID: "password", Name: "password", Type: "password", Label: "Password", Autocomplete: "current-password"},
	}
}

// loginForm shows the sign-in form; a customer signed in already goes on to
// their profile.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Sessions != nil {
		if _, err := h.cfg.Sessions.User(r.Context(), r.PathValue("org"), sessionSecret(r)); err == nil {
			http.Redirect(w, r, "profile", http.StatusSeeOther)
			return
		}
	}
	p := page{Title: "Sign in", CSRF: h.csrfToken(w, r), Fields: loginFields("", h.userNameFormat(r), false)}
	if h.takeFlash(w, r) == doneSignedOut {
		p.Notice = "You're signed out."
	}
	h.render(w, r, http.StatusOK, "login", p)
}

// login signs a customer in: a temporary password leads on to
// change-password with a ticket; an active account to its profile, in a
// session (Config.Sessions). A failed sign-in counts against the client's
// address (Config.Limiter).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	org, login, format := r.PathValue("org"), signInValue(r), h.userNameFormat(r)
	if !csrfOK {
		h.render(w, r, http.StatusForbidden, "login", page{Title: "Sign in", CSRF: h.csrfToken(w, r), Alert: expiredForm, Fields: loginFields(login, format, false)})
		return
	}
	var u resources.Resource
	var err error
	if !h.checkPassword(w, r, func() bool {
		u, err = h.users.Authenticate(r.Context(), org, login, resources.Secret(r.PostFormValue("password")))
		return resources.ErrorCode(err) == resources.Unauthorized
	}) {
		return
	}
	if resources.ErrorCode(err) == resources.Unauthorized {
		fields := loginFields(login, format, true)
		h.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", CSRF: h.csrfToken(w, r),
			Errors: fieldErrors(fields), Fields: fields})
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	if accountState(u) == schemas.AccountStatePasswordChangeRequired {
		ticket, err := h.users.StartPasswordChange(r.Context(), org, u)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		http.SetCookie(w, h.cookie(r, ticketCookie, ticket.Reveal(), 0))
		http.Redirect(w, r, "change-password", http.StatusSeeOther)
		return
	}
	if h.cfg.Sessions == nil {
		h.message(w, r, http.StatusOK, "You're signed in", []string{"You signed in as " + userName(u) + ".", noApplication(h.orgName(r), format)}, nil)
		return
	}
	secret, err := h.cfg.Sessions.Start(r.Context(), org, u)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, secret.Reveal(), int(resources.CustomerSessionTTL.Seconds())))
	http.Redirect(w, r, "profile", http.StatusSeeOther)
}

// noApplication says why the pages lead nowhere after signing in: they are
// where a customer manages their account, not an application's sign-in.
func noApplication(orgName, format string) string {
	return "There is no application to continue to from this page: to use an application of " + orgName +
		", sign in from that application with the same " + loginWord(format) + " and password."
}

// checkPassword runs check, a password check that reports whether it failed,
// within the limit on failed authentications (Config.Limiter). It reports
// false, having answered 429, when the client's address may not try now.
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, check func() (failed bool)) bool {
	wait, ok := web.WithinLimit(h.cfg.Limiter, r, check)
	if !ok {
		secs := max(int(math.Ceil(wait.Seconds())), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.message(w, r, http.StatusTooManyRequests, "Too many attempts", []string{
			"There were too many failed attempts from your address. Please wait " + strconv.Itoa(secs) + " seconds and try again.",
		}, nil)
	}
	return ok
}

func (h *Handler) invalidTicket(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.cookie(r, ticketCookie, "", -1))
	h.message(w, r, http.StatusForbidden, "Sign in again", []string{resources.ErrInvalidTicket.Detail}, &link{Href: "login", Text: "Sign in"})
}

// ticket returns the request's password-change ticket.
func ticket(r *http.Request) resources.Secret {
	c, err := r.Cookie(ticketCookie)
	if err != nil {
		return ""
	}
	return resources.Secret(c.Value)
}

func (h *Handler) changeForm(w http.ResponseWriter, r *http.Request) {
	u, err := h.users.Ticket(r.Context(), r.PathValue("org"), ticket(r))
	if errors.Is(err, resources.ErrInvalidTicket) {
		h.invalidTicket(w, r)
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	name := userName(u)
	h.render(w, r, http.StatusOK, "change-password", page{Title: "Choose a new password", CSRF: h.csrfToken(w, r), Account: name,
		Fields: passwordFields(accountField(name, h.userNameFormat(r)), "", "")})
}

// changePassword replaces a temporary password.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	org, t := r.PathValue("org"), ticket(r)
	h.setPassword(w, r, csrfOK, newPasswordForm{
		page: "change-password", title: func(resources.Resource) (string, bool) { return "Choose a new password", false },
		account: func() (resources.Resource, error) { return h.users.Ticket(r.Context(), org, t) },
		invalid: resources.ErrInvalidTicket, refuse: h.invalidTicket,
		set: func(pw resources.Secret) (resources.Resource, error) {
			return h.users.ChangeTemporaryPassword(r.Context(), org, t, pw)
		},
		done: func() { http.SetCookie(w, h.cookie(r, ticketCookie, "", -1)) },
	})
}

// done tells the outcome of a password form this browser submitted; opened
// any other way (no flash), it leads to the sign-in page, claiming nothing.
func (h *Handler) done(w http.ResponseWriter, r *http.Request) {
	org, word := h.orgName(r), loginWord(h.userNameFormat(r))
	switch h.takeFlash(w, r) {
	case donePassword:
		h.message(w, r, http.StatusOK, "You're all set", []string{
			"Your password is saved and your account is active.",
			"Sign in to the applications of " + org + " with your " + word + " and your new password.",
		}, &link{Href: "login", Text: "Sign in"})
	case donePassword + doneDisabled:
		h.message(w, r, http.StatusOK, "Your password is saved", []string{
			"Your password is saved, but your account is disabled by " + org + ": you cannot sign in until an administrator of " + org + " enables it.",
			"Once it is enabled, sign in with your " + word + " and your new password.",
		}, nil)
	default:
		http.Redirect(w, r, "login", http.StatusSeeOther)
	}
}

// flash tells the page a successful form redirects to what succeeded (what,
// one of donePassword and doneConfirmed), for the account u as written. It
// lives a minute and is read once (takeFlash).
func (h *Handler) flash(w http.ResponseWriter, r *http.Request, what string, u resources.Resource) {
	if active, _ := u.Attributes["active"].(bool); !active {
		what += doneDisabled
	}
	http.SetCookie(w, h.cookie(r, doneCookie, what, 60))
}

// takeFlash returns the request's flash (see flash) and clears it: a reload
// or a later visit no longer claims anything.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(doneCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, h.cookie(r, doneCookie, "", -1))
	return c.Value
}

func userName(u resources.Resource) string {
	s, _ := u.Attributes["userName"].(string)
	return s
}

// accountState is u's onboarding state, also while it is disabled (see
// resources.AccountState).
func accountState(u resources.Resource) string { return resources.AccountState(u) }

// linkToken is the token of the emailed link whose form r posts. The form
// has no action, so it posts to the page's own address, which carries the
// token: the token is never written in a page. A token posted as a form
// field (as pages before did) is taken too.
func linkToken(r *http.Request) resources.Secret {
	if t := r.URL.Query().Get("token"); t != "" {
		return resources.Secret(t)
	}
	return resources.Secret(r.PostFormValue("token"))
}
