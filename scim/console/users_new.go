package console

import (
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/web"
)

// The New customer wizard follows the guide's New User > Customer: step 1
// asks for the email (the username), the first and last name and how the
// password is set; Next validates all of it (a taken email is looked up
// first) and creates the customer, which sends the invitation; step 2
// assigns groups; Finish shows the customer's page saying what happened.
// Creating at Next keeps a temporary password out of every page after the
// one it was typed in, and out of the server's memory between requests: it
// is hashed at once and never shown again.

// userMethodWords are the password methods as the form names them.
var userMethodWords = map[string]string{
	schemas.PasswordSetupInvite:            "Invite user to set their own password",
	schemas.PasswordSetupTemporaryPassword: "Set a temporary password",
}

// newUserData is step 1's content.
type newUserData struct {
	Fields  []web.Field
	Method  string
	Methods []userMethod
	// MethodError is the problem with the method; Password the temporary
	// password's field (never filled in).
	MethodError string
	// MethodFocus: the method is the first field in error.
	MethodFocus bool
	Password    web.Field
	// Suggestion is a strong password the administrator may copy: made
	// afresh for every page, never logged or kept.
	Suggestion string
}

// userMethod is a radio button of the password method.
type userMethod struct {
	Value, Label string
	Checked      bool
}

const userTempPasswordHint = "At least 8 characters, and hard to guess: not the customer's username, email address or name, " +
	"not a common password or a word with a number. Give it to the customer yourself: they must change it when they first sign in."

func newUserPage(format, userName, email, given, family, method string, errs map[string]string) newUserData {
	fs := []web.Field{
		{ID: "email", Name: "email", Type: "email", Label: "Email (username)", Value: email, Autocomplete: "off", MaxLength: 254,
			Hint:  "This email address is the customer's username. A username is unique in the organization, and it can never be changed once the customer is created.",
			Error: errs["email"]},
		{ID: "givenName", Name: "givenName", Type: "text", Label: "First name", Value: given, Autocomplete: "off", MaxLength: maxUserNameLen, Error: errs["givenName"]},
		{ID: "familyName", Name: "familyName", Type: "text", Label: "Last name", Value: family, Autocomplete: "off", MaxLength: maxUserNameLen, Error: errs["familyName"]},
	}
	if format == schemas.UserNameFormatAny {
		// The organization's usernames are logins: the email is a field
		// of its own, which an invitation needs.
		login := web.Field{ID: "userName", Name: "userName", Type: "text", Label: "Username", Value: userName, Autocomplete: "off", MaxLength: 254,
			Hint:  "The customer's login, such as an employee number: letters, digits and punctuation, no spaces. A username is unique in the organization, and it can never be changed once the customer is created.",
			Error: errs["userName"]}
		fs[0].Label, fs[0].Optional = "Email", true
		fs[0].Hint = "Where the customer's mail goes, such as an invitation: required to invite them."
		fs = append([]web.Field{login}, fs...)
	}
	pw := web.Field{ID: "password", Name: "password", Type: "password", Label: "Temporary password", Autocomplete: "new-password",
		Hint: userTempPasswordHint, Error: errs["password"], MaxLength: resources.MaxPasswordLength}
	d := newUserData{Fields: fs, Method: method, MethodError: errs["method"], Password: pw, Suggestion: userPasswordSuggestion()}
	// The focus goes to the first field in error, else to the first field.
	switch {
	case errs["userName"] != "", errs["email"] != "", errs["givenName"] != "", errs["familyName"] != "":
		focusFirstError(d.Fields)
	case errs["method"] != "":
		d.MethodFocus = true
	case errs["password"] != "":
		d.Password.Autofocus = true
	default:
		d.Fields[0].Autofocus = true
	}
	for _, m := range []string{schemas.PasswordSetupInvite, schemas.PasswordSetupTemporaryPassword} {
		d.Methods = append(d.Methods, userMethod{Value: m, Label: userMethodWords[m], Checked: m == method})
	}
	return d
}

// newUserForm is step 1.
func (h *Handler) newUserForm(w http.ResponseWriter, r *http.Request, c *call) {
	format, err := h.svc.Users.UserNameFormat(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.page(w, r, c, http.StatusOK, "users-new", view{Title: "New customer", Nav: "users",
		Data: newUserPage(format, "", "", "", "", schemas.PasswordSetupInvite, nil)})
}

// newUser checks step 1 whole (nothing is created while anything is
// wrong, and the form comes back with what was typed, the password
// aside), then creates the customer and moves on to step 2.
func (h *Handler) newUser(w http.ResponseWriter, r *http.Request, c *call) {
	format, err := h.svc.Users.UserNameFormat(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	given, family := strings.TrimSpace(r.PostFormValue("givenName")), strings.TrimSpace(r.PostFormValue("familyName"))
	method, password := r.PostFormValue("method"), resources.Secret(r.PostFormValue("password"))
	errs := map[string]string{}
	// userName is the username as typed, and nameField the field that
	// holds it: the email, unless the organization's usernames are logins.
	userName, nameField := email, "email"
	if format == schemas.UserNameFormatAny {
		userName, nameField = strings.TrimSpace(r.PostFormValue("userName")), "userName"
		switch {
		case userName == "":
			errs["userName"] = "Enter the customer's username."
		case resources.CheckUserName(userName, format) != nil:
			errs["userName"] = "Enter a username of letters, digits and punctuation, without spaces (" + detail(resources.CheckUserName(userName, format)) + ")."
		}
		switch {
		case email == "" && method == schemas.PasswordSetupInvite:
			errs["email"] = "Enter the customer's email address: the invitation goes there."
		case email != "" && (len(email) > 254 || resources.CheckUserName(email, schemas.UserNameFormatEmail) != nil):
			errs["email"] = "Enter an email address such as jane@example.com."
		}
	} else {
		switch {
		case email == "":
			errs["email"] = "Enter the customer's email address."
		case len(email) > 254 || resources.CheckUserName(email, format) != nil:
			errs["email"] = "Enter an email address such as jane@example.com."
		}
	}
	if e := checkUserName("first name", given); e != "" {
		errs["givenName"] = e
	}
	if e := checkUserName("last name", family); e != "" {
		errs["familyName"] = e
	}
	switch method {
	case schemas.PasswordSetupInvite:
		password = "" // typed before choosing to invite: not used
	case schemas.PasswordSetupTemporaryPassword:
		if password == "" {
			errs["password"] = "Enter a temporary password, or choose to invite the customer."
		} else if p := resources.PasswordProblem(password, email, given, family); p != "" {
			errs["password"] = "The password " + p + "."
		}
	default:
		errs["method"] = "Choose how the customer sets their password."
		method = ""
	}
	status := http.StatusBadRequest
	taken := "A customer with this email address already exists. Usernames are unique in the organization."
	if nameField == "userName" {
		taken = "A customer with this username already exists. Usernames are unique in the organization."
	}
	if errs[nameField] == "" {
		exists, err := h.userNameTaken(r, c, userName)
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		if exists {
			errs[nameField] = taken
			if len(errs) == 1 {
				status = http.StatusConflict
			}
		}
	}
	form := func(status int, alert string) {
		d := newUserPage(format, userName, email, given, family, method, errs)
		ps := fieldProblems(d.Fields...)
		if errs["method"] != "" {
			ps = append(ps, problem{Field: "method-" + schemas.PasswordSetupInvite, Text: errs["method"]})
		}
		ps = append(ps, fieldProblems(d.Password)...)
		h.page(w, r, c, status, "users-new", view{Title: "New customer", Nav: "users", Alert: alert, Problems: ps, Data: d})
	}
	if len(errs) > 0 {
		form(status, "")
		return
	}
	body := map[string]any{
		"schemas":               []any{schemas.UserURN, schemas.CustomerUserURN},
		"userName":              userName,
		"name":                  map[string]any{"givenName": given, "familyName": family},
		schemas.CustomerUserURN: map[string]any{"passwordSetup": method},
	}
	if email != "" && email != userName {
		body["emails"] = []any{map[string]any{"value": email, "type": "work", "primary": true}}
	}
	if method == schemas.PasswordSetupTemporaryPassword {
		body["password"] = password.Reveal()
	}
	res, err := h.svc.Users.Create(r.Context(), c.Org, body)
	switch {
	case resources.ErrorCode(err) == resources.Uniqueness:
		errs[nameField] = taken
		form(http.StatusConflict, "")
		return
	case userError(err):
		form(http.StatusBadRequest, detail(err))
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	cu, err := customerOf(res)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "users/"+cu.ID+"/new-groups", "Customer created. "+userOutcome(cu))
}

// userOutcome says how a new customer will set their password.
func userOutcome(cu customer) string {
	switch cu.AccountState {
	case schemas.AccountStatePendingInvitation:
		return "Invitation sent to " + cu.Email + "."
	case schemas.AccountStateInvitationNotDelivered:
		return "The invitation to " + cu.Email + " could not be sent: resend it from the customer's page."
	case schemas.AccountStatePasswordChangeRequired:
		return "Temporary password set; the customer must change it at first sign-in."
	}
	return ""
}

// userNameTaken reports whether a customer of the organization has the
// username email (ignoring case, as uniqueness does).
func (h *Handler) userNameTaken(r *http.Request, c *call, email string) (bool, error) {
	f, err := resources.ParseFilter(h.svc.Users.ResourceType(), "userName eq "+userFilterString(email), "")
	if err != nil {
		return false, err
	}
	page, err := h.svc.Users.List(r.Context(), c.Org, resources.Query{Filter: f, Count: 0})
	if err != nil {
		return false, err
	}
	return page.Total > 0, nil
}

// userSuggestionAlphabet leaves out letters and digits easily mistaken for
// one another (l, 1, i, o, 0).
const userSuggestionAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// userPasswordSuggestion returns a random password of 16 characters in
// four groups (about 79 bits), which the policy accepts.
func userPasswordSuggestion() string {
	for {
		var b strings.Builder
		buf := make([]byte, 64)
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+).
		n := 0
		for _, x := range buf {
			if int(x) >= 256/len(userSuggestionAlphabet)*len(userSuggestionAlphabet) {
				continue // rejection sampling: every symbol equally likely
			}
			if n > 0 && n%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(userSuggestionAlphabet[int(x)%len(userSuggestionAlphabet)])
			if n++; n == 16 {
				break
			}
		}
		if s := b.String(); n == 16 && resources.PasswordProblem(resources.Secret(s), "") == "" {
			return s
		}
	}
}
