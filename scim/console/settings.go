package console

import (
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/web"
)

// The owners' Settings: the organization's name, self-registration, the
// onboarding policy, the userName format and substring search (General),
// API tokens, administrators, custom attributes and the audit trail, one
// tab each.
// Every page and form is owners only: ownerOnly answers a collaborator 403
// before anything is read or written, and the domain services check again.

// settingsTabsFile defines "settings-tabs", the sub-navigation every
// settings page shows; it is parsed into each of them (settingsRoutes).
const settingsTabsFile = "templates/settings-tabs.html"

// settingsRoutes are the owners' Settings pages.
func (h *Handler) settingsRoutes() {
	for name, t := range h.pages {
		if !strings.HasPrefix(name, "settings") {
			continue
		}
		if name == "settings-tabs" {
			delete(h.pages, name) // a part of the others, not a page
			continue
		}
		// Clone keeps the functions New gave the page; the tabs are one
		// definition shared by the settings pages only.
		c := template.Must(t.Clone())
		h.pages[name] = template.Must(c.ParseFS(files, settingsTabsFile))
	}
	owner := func(fn adminHandler) http.HandlerFunc { return h.signedIn(h.ownerOnly(fn)) }
	ownerForm := func(fn adminHandler) http.HandlerFunc { return h.form(h.ownerOnly(fn)) }

	h.mux.HandleFunc("GET "+base+"settings", owner(h.settingsGeneral))
	h.mux.HandleFunc("POST "+base+"settings/name", ownerForm(h.setOrgName))
	h.mux.HandleFunc("POST "+base+"settings/registration", ownerForm(h.setRegistration))
	h.mux.HandleFunc("POST "+base+"settings/onboarding", ownerForm(h.setOnboarding))
	h.mux.HandleFunc("POST "+base+"settings/usernames", ownerForm(h.setUserNameFormat))
	h.mux.HandleFunc("POST "+base+"settings/substring-search", ownerForm(h.setSubstringSearch))

	h.mux.HandleFunc("GET "+base+"settings/tokens", owner(h.tokens))
	h.mux.HandleFunc("POST "+base+"settings/tokens", ownerForm(h.createToken))
	// A token's name travels in the query or the form, not the path: "." and
	// ".." are valid token names, and a path would clean them away.
	h.mux.HandleFunc("GET "+base+"settings/tokens/revoke", owner(h.confirmRevokeToken))
	h.mux.HandleFunc("POST "+base+"settings/tokens/revoke", ownerForm(h.revokeToken))

	h.mux.HandleFunc("GET "+base+"settings/admins", owner(h.admins))
	h.mux.HandleFunc("POST "+base+"settings/admins", ownerForm(h.inviteAdmin))
	h.mux.HandleFunc("POST "+base+"settings/admins/{id}/role", ownerForm(h.setAdminRole))
	h.mux.HandleFunc("GET "+base+"settings/admins/{id}/remove", owner(h.confirmRemoveAdmin))
	h.mux.HandleFunc("POST "+base+"settings/admins/{id}/remove", ownerForm(h.removeAdmin))
	h.mux.HandleFunc("POST "+base+"settings/admins/{id}/resend", ownerForm(h.resendAdminInvitation))

	h.mux.HandleFunc("GET "+base+"settings/audit", owner(h.audit))
	h.settingsSchemaRoutes()

}

// Tabs of the settings pages, as settingsTab values.
const (
	tabGeneral = "general"
	tabTokens  = "tokens"
	tabAdmins  = "admins"
	tabAudit   = "audit"
)

// settingsTab marks which tab a settings page is: every settings page's
// Data embeds it, and "settings-tabs" reads it.
type settingsTab struct{ Tab string }

// option is an entry of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// options returns the select's entries with the one of value selected.
func options(value string, entries ...option) []option {
	out := make([]option, len(entries))
	for i, o := range entries {
		o.Selected = o.Value == value
		out[i] = o
	}
	return out
}

// generalData is the General tab's content.
type generalData struct {
	settingsTab
	Name             web.Field
	SelfRegistration bool
	// RegisterLink is the customers' registration page, to share while
	// self-registration is on.
	RegisterLink copyField
	// Onboarding and UserNameFormats are the radio buttons of those
	// settings, the current one checked.
	Onboarding, UserNameFormats []userMethod
	// SubstringSearch are the attributes that may be searched by
	// substring, those searched so checked.
	SubstringSearch []substringBox
}

// onboardingWords and userNameFormatWords are the settings' choices as the
// page names them.
var (
	onboardingWords = []userMethod{
		{Value: resources.OnboardingNone, Label: "Send nothing: they sign in through your identity provider (their account reads “no password” until someone invites them)"},
		{Value: resources.OnboardingInvite, Label: "Email them an invitation to set their own password (when they have an email address)"},
	}
	userNameFormatWords = []userMethod{
		{Value: schemas.UserNameFormatEmail, Label: "Email address: the username is the customer's email"},
		{Value: schemas.UserNameFormatAny, Label: "Any login (an Okta login, an employee number): mail goes to the customer's email addresses"},
	}
)

// checked returns choices with the one of value checked.
func checked(choices []userMethod, value string) []userMethod {
	out := make([]userMethod, len(choices))
	for i, c := range choices {
		c.Checked = c.Value == value
		out[i] = c
	}
	return out
}

// copyField is a readonly value to copy: a token's secret, a URL. The copy
// button (copy.js) is an extra; the field is selectable without it.
type copyField struct{ ID, Label, Hint, Value string }

func (h *Handler) settingsGeneral(w http.ResponseWriter, r *http.Request, c *call) {
	s, err := h.svc.Orgs.Settings(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.generalPage(w, r, c, http.StatusOK, s, s.DisplayName, "")
}

// generalPage renders the General tab with the name form holding name and
// its problem.
func (h *Handler) generalPage(w http.ResponseWriter, r *http.Request, c *call, status int, s resources.OrgSettings, name, nameErr string) {
	// Totals only: one count of the ordering set, for what substring
	// search would cost the organization.
	customers, err := h.svc.Users.List(r.Context(), c.Org, resources.Query{StartIndex: 1})
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	v := view{Title: "General settings", Nav: "settings", Data: generalData{
		settingsTab: settingsTab{tabGeneral},
		Name: web.Field{ID: "displayName", Name: "displayName", Type: "text", Label: "Organization name", Value: name, Error: nameErr,
			Hint:     "How the console and your customers' pages name the organization, such as “Acme Inc.”. Leave it empty to show " + c.Org + ".",
			Optional: true, MaxLength: resources.MaxOrgDisplayNameLength, Autofocus: nameErr != "", Autocomplete: "organization"},
		SelfRegistration: s.SelfRegistration,
		RegisterLink: copyField{ID: "registration-link", Label: "Registration link to share with your customers",
			Value: notify.NewLinks(h.cfg.BaseURL).Page(notify.Register, c.Org)},
		Onboarding:      checked(onboardingWords, s.OnboardingPolicy()),
		UserNameFormats: checked(userNameFormatWords, s.UserNameRule()),
		SubstringSearch: substringBoxes(s, customers.Total),
	}}
	if nameErr != "" {
		v.Problems = []problem{{Field: "displayName", Text: nameErr}}
	}
	h.page(w, r, c, status, "settings", v)
}

// setOrgName sets the organization's display name.
func (h *Handler) setOrgName(w http.ResponseWriter, r *http.Request, c *call) {
	name := strings.TrimSpace(r.PostFormValue("displayName"))
	err := h.svc.Orgs.SetDisplayName(r.Context(), c.Org, c.Admin, name)
	if userError(err) {
		s, serr := h.svc.Orgs.Settings(r.Context(), c.Org)
		if serr != nil {
			h.failed(w, r, c, serr)
			return
		}
		h.generalPage(w, r, c, http.StatusBadRequest, s, name, sentence(detail(err)))
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	if name == "" {
		h.redirect(w, r, c, "settings", "The organization's name is cleared: the console shows "+c.Org+".")
		return
	}
	h.redirect(w, r, c, "settings", "The organization is now named “"+name+"”.")
}

// setRegistration turns self-registration on or off.
func (h *Handler) setRegistration(w http.ResponseWriter, r *http.Request, c *call) {
	var on bool
	switch r.PostFormValue("selfRegistration") {
	case "on":
		on = true
	case "off":
	default:
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"Choose whether self-registration is on or off. Nothing was changed."},
			&link{Href: c.url("settings"), Text: "Back to the settings"})
		return
	}
	if err := h.svc.Orgs.SetSelfRegistration(r.Context(), c.Org, c.Admin, on); err != nil {
		h.failed(w, r, c, err)
		return
	}
	if on {
		h.redirect(w, r, c, "settings", "Self-registration is on: share the registration link with your customers.")
		return
	}
	h.redirect(w, r, c, "settings", "Self-registration is off: customers can no longer register themselves.")
}

// setOnboarding sets what customers created without passwordSetup get.
func (h *Handler) setOnboarding(w http.ResponseWriter, r *http.Request, c *call) {
	v := r.PostFormValue("onboarding")
	if _, err := resources.ParseOnboarding(v); err != nil {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"Choose what customers created by your identity provider get. Nothing was changed."},
			&link{Href: c.url("settings"), Text: "Back to the settings"})
		return
	}
	if err := h.svc.Orgs.SetOnboarding(r.Context(), c.Org, c.Admin, v); err != nil {
		h.failed(w, r, c, err)
		return
	}
	if v == resources.OnboardingInvite {
		h.redirect(w, r, c, "settings", "Customers created without a password method are now emailed an invitation.")
		return
	}
	h.redirect(w, r, c, "settings", "Customers created without a password method now get no email.")
}

// setUserNameFormat sets the rule of new usernames.
func (h *Handler) setUserNameFormat(w http.ResponseWriter, r *http.Request, c *call) {
	v := r.PostFormValue("userNameFormat")
	if _, err := resources.ParseUserNameFormat(v); err != nil {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"Choose what a username is. Nothing was changed."},
			&link{Href: c.url("settings"), Text: "Back to the settings"})
		return
	}
	if err := h.svc.Orgs.SetUserNameFormat(r.Context(), c.Org, c.Admin, v); err != nil {
		h.failed(w, r, c, err)
		return
	}
	if v == schemas.UserNameFormatAny {
		h.redirect(w, r, c, "settings", "New usernames may be any login; existing ones stay as they are.")
		return
	}
	h.redirect(w, r, c, "settings", "New usernames must be email addresses; existing ones stay as they are.")
}

// sentence capitalizes a domain error's detail and ends it with a full
// stop, to show it as a form's error.
func sentence(s string) string {
	if s == "" {
		return s
	}
	first, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(first)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
