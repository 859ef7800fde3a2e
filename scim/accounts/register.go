package accounts

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web"
)

// Self-registration pages: register, registered, confirm, confirmed. Each
// answers 404 "Registration is not available" unless the organization turned
// self-registration on (scimd org set --self-registration on), and then
// changes nothing.

// registrationOpen reports whether the organization allows self-registration;
// when it does not (or the store fails) it has answered.
func (h *Handler) registrationOpen(w http.ResponseWriter, r *http.Request) bool {
	on, err := h.users.SelfRegistration(r.Context(), r.PathValue("org"))
	if err != nil {
		h.failed(w, r, err)
		return false
	}
	if !on {
		h.registrationClosed(w, r)
		return false
	}
	return true
}

func (h *Handler) registrationClosed(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Registration is not available", []string{resources.ErrRegistrationClosed.Detail}, nil)
}

// registerForm holds what the customer typed, except the passwords, and the
// messages of each field; format is the organization's userNameFormat,
// which decides whether the form asks for a username besides the email.
type registerForm struct {
	format                                 string
	userName, email, givenName, familyName string
	errs                                   map[string]string
}

// registerFields are the form's inputs, in order; "userName" is asked for
// only under userNameFormat "any".
var registerFields = []string{"userName", "email", "givenName", "familyName", "password", "confirm"}

func (f registerForm) fields() []web.Field {
	e := f.errs
	focus := "email"
	if anyUserNames(f.format) {
		focus = "userName"
	}
	for _, k := range registerFields {
		if e[k] != "" {
			focus = k
			break
		}
	}
	var fs []web.Field
	if anyUserNames(f.format) {
		fs = append(fs,
			web.Field{ID: "userName", Name: "userName", Type: "text", Label: "Username", Value: f.userName, Autocomplete: "username",
				Hint: "You sign in with it: letters, digits and punctuation such as . - _ @, no spaces."},
			web.Field{ID: "email", Name: "email", Type: "email", Label: "Email", Value: f.email, Autocomplete: "email",
				Hint: "We email a link to this address to confirm it, and your account's messages later."})
	} else {
		fs = append(fs, web.Field{ID: "email", Name: "email", Type: "email", Label: "Email", Value: f.email, Autocomplete: "email",
			Hint: "Your email address is also your username."})
	}
	fs = append(fs, []web.Field{
		{ID: "givenName", Name: "givenName", Type: "text", Label: "First name", Value: f.givenName, Autocomplete: "given-name"},
		{ID: "familyName", Name: "familyName", Type: "text", Label: "Last name", Value: f.familyName, Autocomplete: "family-name"},
		{ID: "password", Name: "password", Type: "password", Label: "Password", Autocomplete: "new-password",
			Hint:      passwordHint,
			MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength},
		{ID: "confirm", Name: "confirm", Type: "password", Label: "Confirm password", Autocomplete: "new-password",
			MinLength: resources.MinPasswordLength, MaxLength: resources.MaxPasswordLength},
	}...)
	for i := range fs {
		fs[i].Error = e[fs[i].ID]
		fs[i].Autofocus = fs[i].ID == focus
	}
	return fs
}

// renderRegister shows the form f; alert is a problem of the whole form.
func (h *Handler) renderRegister(w http.ResponseWriter, r *http.Request, status int, f registerForm, alert string) {
	fields := f.fields()
	h.render(w, r, status, "register", page{Title: "Create your account", CSRF: h.csrfToken(w, r), Alert: alert,
		Errors: fieldErrors(fields), Fields: fields})
}

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) {
	if !h.registrationOpen(w, r) {
		return
	}
	h.renderRegister(w, r, http.StatusOK, registerForm{format: h.userNameFormat(r)}, "")
}

// register handles the registration form. A valid form always leads to the
// same "check your email" page, whether the email was new, already had an
// account, or the email could not be sent (resources.Users.Register); under
// userNameFormat "any" a username another account has is refused on the
// form (resources.ErrUserNameTaken).
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok || !h.registrationOpen(w, r) {
		return
	}
	f := registerForm{format: h.userNameFormat(r), userName: strings.TrimSpace(r.PostFormValue("userName")),
		email: strings.TrimSpace(r.PostFormValue("email")), givenName: strings.TrimSpace(r.PostFormValue("givenName")),
		familyName: strings.TrimSpace(r.PostFormValue("familyName"))}
	if !csrfOK {
		h.renderRegister(w, r, http.StatusForbidden, f, expiredForm)
		return
	}
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	reg := resources.Registration{UserName: f.userName, Email: f.email, GivenName: f.givenName, FamilyName: f.familyName,
		Password: resources.Secret(password)}
	f.errs = resources.CheckRegistration(reg, f.format)
	if f.errs["password"] != "" {
		// Every problem of the password at once, not only the first.
		f.errs["password"] = passwordSentence("Your password", resources.RegistrationPasswordProblems(reg, f.format))
	}
	if password != confirm {
		f.errs["confirm"] = mismatch
	}
	if len(f.errs) > 0 {
		h.renderRegister(w, r, http.StatusBadRequest, f, "")
		return
	}
	err := h.users.Register(r.Context(), r.PathValue("org"), reg)
	switch {
	case errors.Is(err, resources.ErrRegistrationClosed):
		h.registrationClosed(w, r)
	case errors.Is(err, resources.ErrUserNameTaken):
		f.errs = map[string]string{"userName": resources.ErrUserNameTaken.Detail}
		h.renderRegister(w, r, http.StatusConflict, f, "")
	case resources.ErrorCode(err) == resources.InvalidValue:
		msg := resources.Error{}
		errors.As(err, &msg)
		h.renderRegister(w, r, http.StatusBadRequest, f, msg.Detail)
	case err != nil:
		h.failed(w, r, err)
	default:
		http.Redirect(w, r, "registered", http.StatusSeeOther)
	}
}

// registered is the one answer to every accepted registration form.
func (h *Handler) registered(w http.ResponseWriter, r *http.Request) {
	if !h.registrationOpen(w, r) {
		return
	}
	h.message(w, r, http.StatusOK, "Check your email", []string{
		"We sent a message to the address you entered. To activate your account, open the link in it and confirm. The link works once and expires; the message says when.",
		"No message after a few minutes? Check your spam folder. If it does not arrive, register again: a registration not yet confirmed is replaced, and a new link sent.",
	}, nil)
}

func (h *Handler) invalidConfirmation(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Confirmation link not valid", []string{resources.ErrInvalidConfirmation.Detail},
		&link{Href: "login", Text: "Sign in"})
}

// confirmError answers the errors of resources.Users.Confirmation and
// ConfirmRegistration.
func (h *Handler) confirmError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, resources.ErrRegistrationClosed):
		h.registrationClosed(w, r)
	case errors.Is(err, resources.ErrInvalidConfirmation):
		h.invalidConfirmation(w, r)
	default:
		h.failed(w, r, err)
	}
}

// confirmFields are the confirmation form's inputs: the account's name (for
// password managers) and the password chosen at registration.
func confirmFields(account web.Field, pwErr string) []web.Field {
	return []web.Field{
		account,
		{ID: "password", Name: "password", Type: "password", Label: "Password", Autocomplete: "current-password",
			Hint: "The password you chose when you registered.", Error: pwErr, Autofocus: true},
	}
}

// renderConfirm shows the confirmation form of the account u; alert is a
// problem of the whole form, pwErr one of the password. It names the
// address being confirmed, and the account by its userName.
func (h *Handler) renderConfirm(w http.ResponseWriter, r *http.Request, status int, u resources.Resource, token, alert, pwErr string) {
	format := h.userNameFormat(r)
	fields := confirmFields(accountField(userName(u), format), pwErr)
	h.render(w, r, status, "confirm", page{Title: "Confirm your account", CSRF: h.csrfToken(w, r), Account: userName(u),
		Email: resources.MailAddress(u, format), Token: token, Alert: alert, Errors: fieldErrors(fields), Fields: fields})
}

// confirmForm shows the confirmation form of a usable link. It changes
// nothing: mail scanners and link previews fetch links.
func (h *Handler) confirmForm(w http.ResponseWriter, r *http.Request) {
	org, token := r.PathValue("org"), resources.Secret(r.URL.Query().Get("token"))
	u, err := h.users.Confirmation(r.Context(), org, token)
	if err != nil {
		h.confirmError(w, r, err)
		return
	}
	h.renderConfirm(w, r, http.StatusOK, u, token.Reveal(), "", "")
}

// confirm activates a self-registered account, consuming its token, if the
// password is the one chosen at registration (resources.Users.ConfirmRegistration):
// a link alone must not activate a password that the address's owner did
// not choose. A wrong password changes nothing, leaves the link working and
// counts as a failed authentication of the client's address (Config.Limiter).
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	org, token := r.PathValue("org"), linkToken(r)
	u, err := h.users.Confirmation(r.Context(), org, token)
	if err != nil {
		h.confirmError(w, r, err)
		return
	}
	if !csrfOK {
		h.renderConfirm(w, r, http.StatusForbidden, u, token.Reveal(), expiredForm, "")
		return
	}
	password := r.PostFormValue("password")
	if password == "" {
		const msg = "Enter the password you chose when you registered."
		h.renderConfirm(w, r, http.StatusBadRequest, u, token.Reveal(), "", msg)
		return
	}
	shown := u
	if !h.checkPassword(w, r, func() bool {
		u, err = h.users.ConfirmRegistration(r.Context(), org, token, resources.Secret(password))
		return errors.Is(err, resources.ErrRegistrationPassword)
	}) {
		return
	}
	switch {
	case errors.Is(err, resources.ErrRegistrationPassword):
		msg := resources.ErrRegistrationPassword.Detail
		h.renderConfirm(w, r, http.StatusUnauthorized, shown, token.Reveal(), "", msg)
	case err != nil:
		h.confirmError(w, r, err)
	default:
		h.flash(w, r, doneConfirmed, u)
		http.Redirect(w, r, "confirmed", http.StatusSeeOther)
	}
}

// confirmed tells the outcome of the confirmation form this browser
// submitted; opened any other way (no flash), it leads to the sign-in page.
func (h *Handler) confirmed(w http.ResponseWriter, r *http.Request) {
	if !h.registrationOpen(w, r) {
		return
	}
	org := h.orgName(r)
	switch h.takeFlash(w, r) {
	case doneConfirmed:
		h.message(w, r, http.StatusOK, "Your account is ready", []string{
			"Your email address is confirmed and your account is active.",
			"Sign in to the applications of " + org + " with your " + loginWord(h.userNameFormat(r)) + " and the password you chose.",
		}, &link{Href: "login", Text: "Sign in"})
	case doneConfirmed + doneDisabled:
		h.message(w, r, http.StatusOK, "Your address is confirmed", []string{
			"Your email address is confirmed, but your account is disabled by " + org + ": you cannot sign in until an administrator of " + org + " enables it.",
		}, nil)
	default:
		http.Redirect(w, r, "login", http.StatusSeeOther)
	}
}
