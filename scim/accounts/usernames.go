package accounts

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/web"
)

// The organization's userName rule on the pages. Under userNameFormat
// "email" (the default) a customer signs in with their email address; under
// "any" with a username that need not be one (an Okta login, an employee
// number), while mail goes to their email (resources.MailAddress). The pages
// ask for, label and name the account by what the customer signs in with.

// userNameFormat is the request's organization's userNameFormat. A store
// that cannot answer leaves "email", the default: the page is still worth
// showing, and the services decide by the stored rule.
func (h *Handler) userNameFormat(r *http.Request) string {
	org := r.PathValue("org")
	f, err := h.users.UserNameFormat(r.Context(), org)
	if err != nil {
		h.log.WarnContext(r.Context(), "read organization userNameFormat", "org", org, "err", err)
		return schemas.UserNameFormatEmail
	}
	return f
}

// anyUserNames reports whether format makes userNames logins that need not
// be email addresses.
func anyUserNames(format string) bool { return format == schemas.UserNameFormatAny }

// loginWord is what a customer signs in with under format, as a sentence
// names it ("with your email and password").
func loginWord(format string) string {
	if anyUserNames(format) {
		return "username"
	}
	return "email"
}

// signInField is the input where a customer types their account's name
// (sign-in, forgot password): the username under userNameFormat "any", else
// the email address.
func signInField(value, format, errMsg string) web.Field {
	f := web.Field{ID: "email", Name: "email", Type: "email", Label: "Email", Value: value, Autocomplete: "username",
		Autofocus: true, Error: errMsg}
	if anyUserNames(format) {
		f.ID, f.Name, f.Type, f.Label = "username", "username", "text", "Username"
	}
	return f
}

// signInValue is what the request's form has in its signInField, either
// kind: a form shown before the organization changed its rule still counts.
func signInValue(r *http.Request) string {
	return strings.TrimSpace(cmp.Or(r.PostFormValue("username"), r.PostFormValue("email")))
}

// accountField is the read-only input that names the account a password is
// for (password managers read it): its userName, labelled as format has it.
func accountField(userName, format string) web.Field {
	f := web.Field{ID: "username", Name: "username", Type: "email", Label: "Email", Value: userName, Autocomplete: "username", ReadOnly: true}
	if anyUserNames(format) {
		f.Type, f.Label = "text", "Username"
	}
	return f
}
