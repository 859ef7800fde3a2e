package console

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web"
)

// API tokens: the bearer tokens identity providers (Entra ID, Okta) and HR
// systems send to /scim/v2. A token's secret is shown once, in the answer to
// the form that created it: never in a cookie, a URL, a later page or a log.

// tokensData is the API tokens tab's content.
type tokensData struct {
	settingsTab
	Tokens []resources.Token
	// Name and Role are the new token form's fields.
	Name      web.Field
	Roles     []option
	RoleError string
	// Onboarding are the choices of the token's onboarding override.
	Onboarding []option
}

// tokenRoles are the roles a new token may have, as the form offers them:
// the least powerful first, so that a form whose role was refused defaults
// to it.
func tokenRoles(role string) []option {
	return options(role,
		option{Value: string(resources.RoleReader), Label: "Reader: read users and groups only"},
		option{Value: string(resources.RoleCollaborator), Label: "Collaborator: create, change and delete users and groups"},
		option{Value: string(resources.RoleOwner), Label: "Owner: everything, including tokens"},
	)
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, c *call) {
	h.tokensPage(w, r, c, http.StatusOK, "", string(resources.RoleCollaborator), "", "")
}

// tokensPage renders the tokens tab with the new token form holding name
// and role and their problems.
func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, c *call, status int, name, role, nameErr, roleErr string) {
	ts, err := h.svc.Orgs.Tokens(r.Context(), c.Org, c.Admin)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	v := view{Title: "API tokens", Nav: "settings", Data: tokensData{
		settingsTab: settingsTab{tabTokens},
		Tokens:      ts,
		Name: web.Field{ID: "token-name", Name: "name", Type: "text", Label: "Name", Value: name, Error: nameErr, MaxLength: 64,
			Hint:      "Say who uses it, such as entra-id or okta-prod: it names the token in the audit trail. Letters, digits, dots, underscores and hyphens.",
			Autofocus: nameErr != "", Autocomplete: "off"},
		Roles:     tokenRoles(role),
		RoleError: roleErr,
		Onboarding: options(r.PostFormValue("onboarding"),
			option{Value: "", Label: "As the organization's setting (General)"},
			option{Value: resources.OnboardingInvite, Label: "Email them an invitation"},
			option{Value: resources.OnboardingNone, Label: "Send nothing"}),
	}}
	if nameErr != "" {
		v.Problems = append(v.Problems, problem{Field: "token-name", Text: nameErr})
	}
	if roleErr != "" {
		v.Problems = append(v.Problems, problem{Field: "token-role", Text: roleErr})
	}
	h.page(w, r, c, status, "settings-tokens", v)
}

// tokenCreatedData is the page that shows a new token's secret, once.
type tokenCreatedData struct {
	settingsTab
	Name, Role      string
	Secret, SCIMURL copyField
}

// createToken creates a token and shows its secret in the answer itself.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, c *call) {
	name, role := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	var nameErr, roleErr string
	switch {
	case name == "":
		nameErr = "Enter a name for the token."
	case resources.ValidateTokenName(name) != nil:
		nameErr = "Use at most 64 letters, digits, dots (.), underscores (_) or hyphens (-) in the name: no spaces or other characters."
	}
	if !resources.Role(role).Valid() {
		roleErr = "Choose the token's role: owner, collaborator or reader."
	}
	if nameErr != "" || roleErr != "" {
		h.tokensPage(w, r, c, http.StatusBadRequest, name, role, nameErr, roleErr)
		return
	}
	secret, err := h.svc.Orgs.CreateToken(r.Context(), c.Org, c.Admin, name, resources.Role(role), r.PostFormValue("onboarding"))
	switch {
	case resources.ErrorCode(err) == resources.Uniqueness:
		h.tokensPage(w, r, c, http.StatusConflict, name, role, "There is already a token named “"+name+"”. Choose another name, or revoke that token first.", "")
		return
	case userError(err):
		h.tokensPage(w, r, c, http.StatusBadRequest, name, role, sentence(detail(err)), "")
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	h.page(w, r, c, http.StatusCreated, "settings-token-created", view{Title: "API token created", Nav: "settings", Data: tokenCreatedData{
		settingsTab: settingsTab{tabTokens},
		Name:        name,
		Role:        role,
		Secret: copyField{ID: "token-secret", Label: "Secret token", Value: secret.Reveal(),
			Hint: "Shown only this once: copy it now. scimd keeps only a hash of it, so it cannot be shown again."},
		SCIMURL: copyField{ID: "scim-url", Label: "SCIM base URL", Value: h.cfg.BaseURL + "/scim/v2",
			Hint: "Entra ID calls it the Tenant URL, Okta the SCIM connector base URL."},
	}})
}

// revokeData is the page that confirms revoking a token.
type revokeData struct {
	settingsTab
	Token resources.Token
}

// findToken returns the organization's token of that name; ok false means
// it answered.
func (h *Handler) findToken(w http.ResponseWriter, r *http.Request, c *call, name string) (resources.Token, bool) {
	ts, err := h.svc.Orgs.Tokens(r.Context(), c.Org, c.Admin)
	if err != nil {
		h.failed(w, r, c, err)
		return resources.Token{}, false
	}
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	h.message(w, r, c, http.StatusNotFound, "Token not found", []string{"There is no API token named “" + name + "”: it may have been revoked already."},
		&link{Href: c.url("settings/tokens"), Text: "Back to the API tokens"})
	return resources.Token{}, false
}

// confirmRevokeToken asks before revoking a token.
func (h *Handler) confirmRevokeToken(w http.ResponseWriter, r *http.Request, c *call) {
	t, ok := h.findToken(w, r, c, r.URL.Query().Get("name"))
	if !ok {
		return
	}
	h.page(w, r, c, http.StatusOK, "settings-token-revoke", view{Title: "Revoke API token “" + t.Name + "”?", Nav: "settings",
		Data: revokeData{settingsTab: settingsTab{tabTokens}, Token: t}})
}

// revokeToken revokes a token: requests bearing it are refused from now on.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, c *call) {
	name := r.PostFormValue("name")
	err := h.svc.Orgs.RevokeToken(r.Context(), c.Org, c.Admin, name)
	if resources.ErrorCode(err) == resources.NotFound {
		h.message(w, r, c, http.StatusNotFound, "Token not found", []string{"There is no API token named “" + name + "”: it may have been revoked already. Nothing was changed."},
			&link{Href: c.url("settings/tokens"), Text: "Back to the API tokens"})
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	if h.cfg.TokenRevoked != nil {
		h.cfg.TokenRevoked(c.Org, name)
	}
	h.redirect(w, r, c, "settings/tokens", "API token “"+name+"” is revoked: requests that use it are refused within seconds.")
}
