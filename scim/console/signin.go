package console

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/web"
)

// signInRoutes are the pages of signing in and out, of accepting an
// invitation, and of the administrator's own account.
func (h *Handler) signInRoutes() {
	h.mux.HandleFunc("GET "+base+"signin", h.signInForm)
	h.mux.HandleFunc("POST "+base+"signin", h.signIn)
	h.mux.HandleFunc("GET "+notify.AdminSignIn, h.signInLinkForm)
	h.mux.HandleFunc("POST "+notify.AdminSignIn, h.signInLink)
	h.mux.HandleFunc("GET "+notify.AdminAccept, h.acceptForm)
	h.mux.HandleFunc("POST "+notify.AdminAccept, h.accept)
	h.mux.HandleFunc("POST "+base+"signout", h.form(h.signOut))
	h.mux.HandleFunc("GET "+base+"account", h.signedIn(h.account))
	h.mux.HandleFunc("POST "+base+"account/password", h.form(h.changePassword))
}

// signInData is the sign-in page's content.
type signInData struct {
	Fields []web.Field
	Next   string
}

func signInFields(email, problem string) []web.Field {
	return []web.Field{
		{ID: "email", Name: "email", Type: "email", Label: "Email", Value: email, Autocomplete: "username", Autofocus: true, Error: problem},
		{ID: "password", Name: "password", Type: "password", Label: "Password", Autocomplete: "current-password", Error: problem},
	}
}

// safeNext is where to go after signing in: a console page of org the
// sign-in page was sent from, else the users list. Nothing else, so that
// the sign-in page cannot be made to lead elsewhere: the path must already
// be clean (no "." or ".." segments, which a browser would resolve out of
// the console), and of this organization's console.
func safeNext(org, next string) string {
	root := "/t/" + org + "/console/"
	p, query, _ := strings.Cut(next, "?")
	if strings.HasPrefix(p, root) && !strings.ContainsAny(next, "\\\r\n") && !strings.Contains(p, "%") && !strings.Contains(p, "//") &&
		path.Clean(p) == strings.TrimSuffix(p, "/") && !strings.HasPrefix(p, root+"sign") {
		if query == "" {
			return p
		}
		return p + "?" + query
	}
	return root + "users"
}

// knownOrg answers 404 unless the request's organization exists, so that a
// mistyped address does not show a sign-in form that can never work.
func (h *Handler) knownOrg(w http.ResponseWriter, r *http.Request) bool {
	ok, err := h.svc.Orgs.Exists(r.Context(), r.PathValue("org"))
	if err != nil {
		h.failed(w, r, nil, err)
		return false
	}
	if !ok {
		h.message(w, r, nil, http.StatusNotFound, "No such organization",
			[]string{"There is no organization named “" + r.PathValue("org") + "”. Check the address you were given."}, nil)
	}
	return ok
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	if !h.knownOrg(w, r) {
		return
	}
	if _, _, err := h.svc.Admins.Session(r.Context(), org, sessionSecret(r)); err == nil {
		http.Redirect(w, r, safeNext(org, r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.page(w, r, nil, http.StatusOK, "signin", view{Title: "Sign in to the console", CSRF: h.preSessionCSRF(w, r),
		Data: signInData{Fields: signInFields("", ""), Next: safeNext(org, r.URL.Query().Get("next"))}})
}

// signIn checks an administrator's email and password; a failure counts
// against the client's address (Config.Limiter) and reads the same whatever
// was wrong.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parsePreSessionForm(w, r)
	if !ok || !h.knownOrg(w, r) {
		return
	}
	org, email := r.PathValue("org"), strings.TrimSpace(r.PostFormValue("email"))
	next := safeNext(org, r.PostFormValue("next"))
	form := func(status int, alert, wrong string) {
		v := view{Title: "Sign in to the console", CSRF: h.preSessionCSRF(w, r), Alert: alert,
			Data: signInData{Fields: signInFields(email, wrong), Next: next}}
		if wrong != "" {
			v.Problems = []problem{{Field: "email", Text: wrong}}
		}
		h.page(w, r, nil, status, "signin", v)
	}
	if !csrfOK {
		form(http.StatusForbidden, "For your security, this form has expired. Please sign in again.", "")
		return
	}
	var secret resources.Secret
	var err error
	if !h.checkPassword(w, r, func() bool {
		_, _, secret, err = h.svc.Admins.SignIn(r.Context(), org, email, resources.Secret(r.PostFormValue("password")))
		return resources.ErrorCode(err) == resources.Unauthorized
	}) {
		return
	}
	if resources.ErrorCode(err) == resources.Unauthorized {
		form(http.StatusUnauthorized, "", "Invalid email or password.")
		return
	}
	if err != nil {
		h.failed(w, r, nil, err)
		return
	}
	h.startSession(w, r, secret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signedInPage is what a link that signs in answers: a page that moves on
// to the console by itself. Not a redirect: a link opened from a mail
// program or a terminal is a cross-site navigation, and a browser does not
// send the new SameSite=Strict session cookie along its redirects.
func (h *Handler) signedInPage(w http.ResponseWriter, r *http.Request, title string) {
	to := "/t/" + r.PathValue("org") + "/console/users"
	h.page(w, r, nil, http.StatusOK, "continue", view{Title: title, Link: &link{Href: to, Text: "Continue to the console"}})
}

// signInLinkData is the sign-in link's page content.
type signInLinkData struct{ Email string }

// signInLinkForm shows what a single-use sign-in link (the one scimd prints
// at a fresh start of the embedded store) leads to: a button that signs
// in. Opening it changes nothing: mail scanners and link previews open
// links, and would use it up.
func (h *Handler) signInLinkForm(w http.ResponseWriter, r *http.Request) {
	if h.knownOrg(w, r) {
		h.signInLinkPage(w, r, http.StatusOK, "")
	}
}

// signInLinkPage renders the sign-in link's page with status and alert, or
// says the link is not valid.
func (h *Handler) signInLinkPage(w http.ResponseWriter, r *http.Request, status int, alert string) {
	ad, err := h.svc.Admins.SignInLinkAdmin(r.Context(), r.PathValue("org"), resources.Secret(r.URL.Query().Get("token")))
	if h.signInLinkFailed(w, r, err) {
		return
	}
	h.page(w, r, nil, status, "signin-link", view{Title: "Sign in to the console", CSRF: h.preSessionCSRF(w, r),
		Alert: alert, Data: signInLinkData{Email: ad.Email}})
}

// signInLinkFailed answers err, a sign-in link's lookup or use failing
// (not valid: 404), and reports whether there was one to answer.
func (h *Handler) signInLinkFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case errors.Is(err, resources.ErrInvalidAdminLink):
		h.message(w, r, nil, http.StatusNotFound, "Link not valid", []string{resources.ErrInvalidAdminLink.Detail},
			&link{Href: "signin", Text: "Sign in"})
	case err != nil:
		h.failed(w, r, nil, err)
	}
	return err != nil
}

// signInLink signs an administrator in with a single-use link: the form
// of signInLinkForm, posted to the link's own address.
func (h *Handler) signInLink(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	if !h.knownOrg(w, r) {
		return
	}
	csrfOK, ok := h.parsePreSessionForm(w, r)
	if !ok {
		return
	}
	if !csrfOK {
		h.signInLinkPage(w, r, http.StatusForbidden, "For your security, this form has expired. Please sign in again.")
		return
	}
	var secret resources.Secret
	var err error
	if !h.checkPassword(w, r, func() bool {
		_, _, secret, err = h.svc.Admins.UseSignInLink(r.Context(), org, resources.Secret(r.URL.Query().Get("token")))
		return errors.Is(err, resources.ErrInvalidAdminLink)
	}) || h.signInLinkFailed(w, r, err) {
		return
	}
	h.startSession(w, r, secret)
	h.signedInPage(w, r, "You're signed in")
}

// acceptData is the invitation page's content.
type acceptData struct {
	Email  string
	Fields []web.Field
}

// passwordHint is the hint of every new-password field.
const passwordHint = "At least 8 characters, and hard to guess: not your email address or name, not a common password or pattern. Three or four unrelated words work well."

func newPasswordFields(pwErr, confirmErr string) []web.Field {
	return []web.Field{
		{ID: "password", Name: "password", Type: "password", Label: "New password", Autocomplete: "new-password", Hint: passwordHint,
			Error: pwErr, MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength, Autofocus: confirmErr == ""},
		{ID: "confirm", Name: "confirm", Type: "password", Label: "Confirm new password", Autocomplete: "new-password",
			Error: confirmErr, MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength, Autofocus: pwErr == "" && confirmErr != ""},
	}
}

// checkNewPassword checks a new password and its confirmation; it returns
// the two fields' problems.
func checkNewPassword(password, confirm, email string) (pwErr, confirmErr string) {
	if p := resources.PasswordProblem(resources.Secret(password), email); p != "" {
		return "Your new password " + p + ".", ""
	}
	if password != confirm {
		return "", "The two passwords do not match. Type the same password twice."
	}
	return "", ""
}

func problems(pwErr, confirmErr string) []problem {
	var ps []problem
	if pwErr != "" {
		ps = append(ps, problem{Field: "password", Text: pwErr})
	}
	if confirmErr != "" {
		ps = append(ps, problem{Field: "confirm", Text: confirmErr})
	}
	return ps
}

func (h *Handler) invalidInvitation(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, nil, http.StatusNotFound, "Invitation not valid", []string{resources.ErrInvalidAdminLink.Detail}, &link{Href: "signin", Text: "Sign in"})
}

// acceptForm shows the form where an invited administrator chooses a
// password. Opening it changes nothing: mail scanners fetch links.
func (h *Handler) acceptForm(w http.ResponseWriter, r *http.Request) {
	org, token := r.PathValue("org"), resources.Secret(r.URL.Query().Get("token"))
	ad, err := h.svc.Admins.Invitation(r.Context(), org, token)
	if errors.Is(err, resources.ErrInvalidAdminLink) {
		h.invalidInvitation(w, r)
		return
	}
	if err != nil {
		h.failed(w, r, nil, err)
		return
	}
	h.page(w, r, nil, http.StatusOK, "accept", view{Title: "Choose your console password", CSRF: h.preSessionCSRF(w, r),
		Data: acceptData{Email: ad.Email, Fields: newPasswordFields("", "")}})
}

// accept sets an invited administrator's password and signs them in.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parsePreSessionForm(w, r)
	if !ok {
		return
	}
	// The token comes in the address the form posts to (the page's own,
	// see accept.html), never in the page.
	org, token := r.PathValue("org"), resources.Secret(r.URL.Query().Get("token"))
	ad, err := h.svc.Admins.Invitation(r.Context(), org, token)
	if errors.Is(err, resources.ErrInvalidAdminLink) {
		h.invalidInvitation(w, r)
		return
	}
	if err != nil {
		h.failed(w, r, nil, err)
		return
	}
	form := func(status int, alert, pwErr, confirmErr string) {
		h.page(w, r, nil, status, "accept", view{Title: "Choose your console password", CSRF: h.preSessionCSRF(w, r), Alert: alert,
			Problems: problems(pwErr, confirmErr), Data: acceptData{Email: ad.Email, Fields: newPasswordFields(pwErr, confirmErr)}})
	}
	if !csrfOK {
		form(http.StatusForbidden, "For your security, this form has expired. Please type your password again.", "", "")
		return
	}
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	if pwErr, confirmErr := checkNewPassword(password, confirm, ad.Email); pwErr != "" || confirmErr != "" {
		form(http.StatusBadRequest, "", pwErr, confirmErr)
		return
	}
	_, _, secret, err := h.svc.Admins.AcceptInvitation(r.Context(), org, token, resources.Secret(password))
	switch {
	case errors.Is(err, resources.ErrInvalidAdminLink):
		h.invalidInvitation(w, r)
	case resources.ErrorCode(err) == resources.InvalidValue:
		form(http.StatusBadRequest, "", detail(err), "")
	case err != nil:
		h.failed(w, r, nil, err)
	default:
		h.startSession(w, r, secret)
		h.signedInPage(w, r, "Your password is saved")
	}
}

// signOut ends the session.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, c *call) {
	if err := h.svc.Admins.SignOut(r.Context(), c.Org, sessionSecret(r)); err != nil {
		h.failed(w, r, c, err)
		return
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	h.message(w, r, nil, http.StatusOK, "You're signed out", []string{"You signed out of the console."}, &link{Href: "signin", Text: "Sign in again"})
}

// accountData is the account page's content.
type accountData struct {
	Fields      []web.Field
	HasPassword bool
}

func accountFields(hasPassword bool, currentErr, pwErr, confirmErr string) []web.Field {
	var fs []web.Field
	if hasPassword {
		fs = append(fs, web.Field{ID: "current", Name: "current", Type: "password", Label: "Current password", Autocomplete: "current-password", Error: currentErr})
	}
	return append(fs, newPasswordFields(pwErr, confirmErr)...)
}

// account shows the administrator's own account: email, role, and a form to
// set or change their password.
func (h *Handler) account(w http.ResponseWriter, r *http.Request, c *call) {
	h.page(w, r, c, http.StatusOK, "account", view{Title: "Your account", Nav: "account",
		Data: accountData{Fields: accountFields(c.Admin.HasPassword, "", "", ""), HasPassword: c.Admin.HasPassword}})
}

// changePassword sets the administrator's password; their other sessions
// end. A wrong current password counts as a failed sign-in.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, c *call) {
	current, password, confirm := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm")
	form := func(status int, currentErr, pwErr, confirmErr string) {
		ps := problems(pwErr, confirmErr)
		if currentErr != "" {
			ps = append([]problem{{Field: "current", Text: currentErr}}, ps...)
		}
		h.page(w, r, c, status, "account", view{Title: "Your account", Nav: "account", Problems: ps,
			Data: accountData{Fields: accountFields(c.Admin.HasPassword, currentErr, pwErr, confirmErr), HasPassword: c.Admin.HasPassword}})
	}
	if pwErr, confirmErr := checkNewPassword(password, confirm, c.Admin.Email); pwErr != "" || confirmErr != "" {
		form(http.StatusBadRequest, "", pwErr, confirmErr)
		return
	}
	var err error
	if !h.checkPassword(w, r, func() bool {
		err = h.svc.Admins.ChangePassword(r.Context(), c.Org, c.Admin, resources.Secret(current), resources.Secret(password), c.Session.Hash)
		return resources.ErrorCode(err) == resources.Unauthorized
	}) {
		return
	}
	switch resources.ErrorCode(err) {
	case 0:
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		h.redirect(w, r, c, "account", "Your password is saved. Your other sessions were signed out.")
	case resources.Unauthorized:
		form(http.StatusBadRequest, "The current password is not right.", "", "")
	case resources.InvalidValue:
		form(http.StatusBadRequest, "", detail(err), "")
	default:
		h.failed(w, r, c, err)
	}
}
