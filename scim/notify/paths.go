package notify

import (
	"net/url"
	"strings"

	"github.com/scimd/scimd/resources"
)

// Paths of the pages the mails link to, below the server's public URL, with
// "{org}" where the organization goes: each is both the ServeMux pattern
// its page's routes are registered with ("GET "+Invite) and the template of
// the links to it.
const (
	// AccountsPages are the customer pages (package accounts).
	AccountsPages = "/t/{org}/accounts/"
	// Invite is where a customer chooses a password with an invitation or a
	// password-reset token.
	Invite = AccountsPages + "invite"
	// Confirm is where a self-registered customer confirms their address.
	Confirm = AccountsPages + "confirm"
	// SignIn is the customers' sign-in page.
	SignIn = AccountsPages + "login"
	// Register is the self-registration form.
	Register = AccountsPages + "register"

	// ConsolePages are the administrators' console (package console).
	ConsolePages = "/t/{org}/console/"
	// AdminAccept is where an invited administrator chooses their password.
	AdminAccept = ConsolePages + "accept"
	// AdminSignIn signs an administrator in with a single-use link.
	AdminSignIn = ConsolePages + "signin-link"
)

// Links makes absolute links to the pages.
type Links struct {
	base string
}

// NewLinks returns the links below baseURL, the server's public URL without
// a path ("https://id.example.com").
func NewLinks(baseURL string) Links { return Links{base: strings.TrimRight(baseURL, "/")} }

// Page returns the address of the page at path (one of the paths above) of
// organization org.
func (l Links) Page(path, org string) string {
	return l.base + strings.Replace(path, "{org}", url.PathEscape(org), 1)
}

// WithToken returns the address of the page at path of org carrying token:
// a credential until used, so the result is one too.
func (l Links) WithToken(path, org string, token resources.Secret) resources.Secret {
	return resources.Secret(l.Page(path, org) + "?token=" + token.Reveal())
}
