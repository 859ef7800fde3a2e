package accounts

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// The signed-in customer's pages: their profile, and signing out. A session
// (resources.CustomerSessions) starts when a customer signs in with a
// password that is not temporary, and ends when they sign out, after
// resources.CustomerSessionTTL, or when the account may no longer sign in
// or its password changes.

// profile is what the profile page shows of the signed-in customer.
type profile struct {
	// Names are what the account is known by: its email under
	// userNameFormat "email"; under "any" its username and its email, apart
	// when they differ (one row when they are the same address).
	Names       []profileRow
	Name, State string
}

// profileRow is one labelled value of a profile; an empty Value is shown as
// not given.
type profileRow struct{ Label, Value string }

// profileNames are the rows that name the account u under userNameFormat
// format (see profile.Names).
func profileNames(u resources.Resource, format string) []profileRow {
	name := userName(u)
	if !anyUserNames(format) {
		return []profileRow{{"Email", name}}
	}
	mail := resources.MailAddress(u, format)
	if strings.EqualFold(mail, name) {
		return []profileRow{{"Username and email", name}}
	}
	return []profileRow{{"Username", name}, {"Email", mail}}
}

// sessionSecret returns the request's customer session secret.
func sessionSecret(r *http.Request) resources.Secret {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return resources.Secret(c.Value)
}

// signedIn returns the customer of the request's session. When there is
// none it has answered: on to the sign-in page, forgetting the cookie.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (resources.Resource, bool) {
	if h.cfg.Sessions == nil {
		http.Redirect(w, r, "login", http.StatusSeeOther)
		return resources.Resource{}, false
	}
	u, err := h.cfg.Sessions.User(r.Context(), r.PathValue("org"), sessionSecret(r))
	if errors.Is(err, resources.ErrCustomerSignedOut) {
		if sessionSecret(r) != "" {
			http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		}
		http.Redirect(w, r, "login", http.StatusSeeOther)
		return resources.Resource{}, false
	}
	if err != nil {
		h.failed(w, r, err)
		return resources.Resource{}, false
	}
	return u, true
}

// profile shows the signed-in customer's profile and a way to sign out.
func (h *Handler) profile(w http.ResponseWriter, r *http.Request) {
	u, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	format := h.userNameFormat(r)
	h.render(w, r, http.StatusOK, "profile", page{Title: "Your account", CSRF: h.csrfToken(w, r),
		Paragraphs: []string{noApplication(h.orgName(r), format)},
		Profile:    &profile{Names: profileNames(u, format), Name: fullName(u), State: stateInWords(u, format)}})
}

// signOut ends the session and leads to the sign-in page, which says so.
// Without its CSRF token the form has expired: a page elsewhere must not
// sign a customer out.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	if !csrfOK {
		h.message(w, r, http.StatusForbidden, "Form expired", []string{expiredForm}, &link{Href: "profile", Text: "Back to your account"})
		return
	}
	if h.cfg.Sessions != nil {
		if err := h.cfg.Sessions.End(r.Context(), r.PathValue("org"), sessionSecret(r)); err != nil {
			h.failed(w, r, err)
			return
		}
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.SetCookie(w, h.cookie(r, doneCookie, doneSignedOut, 60))
	http.Redirect(w, r, "login", http.StatusSeeOther)
}

// fullName is the customer's first and last names, else their displayName,
// else "".
func fullName(u resources.Resource) string {
	n, _ := u.Attributes["name"].(map[string]any)
	var parts []string
	for _, k := range []string{"givenName", "familyName"} {
		if s, _ := n[k].(string); strings.TrimSpace(s) != "" {
			parts = append(parts, strings.TrimSpace(s))
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	s, _ := u.Attributes["displayName"].(string)
	return strings.TrimSpace(s)
}

// stateInWords is the account's state as its owner reads it, under
// userNameFormat format: "active" false first (a disabled account is
// disabled whatever else), then accountState; a state this version does not
// know is shown as it is.
func stateInWords(u resources.Resource, format string) string {
	if active, _ := u.Attributes["active"].(bool); !active {
		return "Disabled: you cannot sign in until an administrator enables your account."
	}
	switch s := accountState(u); s {
	case schemas.AccountStateActive:
		return "Active: you can sign in with your " + loginWord(format) + " and password."
	case schemas.AccountStatePasswordChangeRequired:
		return "Waiting for you to replace your temporary password."
	case schemas.AccountStatePendingInvitation, schemas.AccountStateInvitationNotDelivered:
		return "Waiting for you to accept your invitation."
	case schemas.AccountStatePendingConfirmation:
		return "Waiting for you to confirm your email address."
	default:
		return s
	}
}
