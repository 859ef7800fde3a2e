package console

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web"
)

// Administrators: owners invite people to the console, change their role,
// resend an invitation not yet accepted, and remove them (which ends their
// sessions). The store keeps at least one owner: a change that would leave
// none shows resources.ErrLastOwner and changes nothing.

// adminRow is an administrator as the list shows them.
type adminRow struct {
	resources.Admin
	// Self is whether the row is the signed-in administrator.
	Self  bool
	Roles []option
}

// adminsData is the Administrators tab's content.
type adminsData struct {
	settingsTab
	Admins []adminRow
	// Email and Roles are the invitation form's fields.
	Email     web.Field
	Roles     []option
	RoleError string
}

// adminRoles are the roles an administrator may have.
func adminRoles(role string) []option {
	return options(role,
		option{Value: string(resources.RoleCollaborator), Label: "Collaborator"},
		option{Value: string(resources.RoleOwner), Label: "Owner"},
	)
}

// inviteForm is the invitation form's state.
type inviteForm struct {
	Email, Role, EmailErr, RoleErr string
}

func (h *Handler) admins(w http.ResponseWriter, r *http.Request, c *call) {
	h.adminsPage(w, r, c, http.StatusOK, "", inviteForm{Role: string(resources.RoleCollaborator)})
}

// adminsPage renders the Administrators tab: the list, alert (a problem
// with a row's form) and the invitation form.
func (h *Handler) adminsPage(w http.ResponseWriter, r *http.Request, c *call, status int, alert string, f inviteForm) {
	list, err := h.svc.Admins.List(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	rows := make([]adminRow, len(list))
	for i, a := range list {
		rows[i] = adminRow{Admin: a, Self: a.ID == c.Admin.ID, Roles: adminRoles(string(a.Role))}
	}
	v := view{Title: "Administrators", Nav: "settings", Alert: alert, Data: adminsData{
		settingsTab: settingsTab{tabAdmins},
		Admins:      rows,
		Email: web.Field{ID: "invite-email", Name: "email", Type: "email", Label: "Email", Value: f.Email, Error: f.EmailErr,
			Hint: "They get an email with a link to choose their password: it works once, for a few days.", Autocomplete: "off", Autofocus: f.EmailErr != ""},
		Roles:     adminRoles(f.Role),
		RoleError: f.RoleErr,
	}}
	if f.EmailErr != "" {
		v.Problems = append(v.Problems, problem{Field: "invite-email", Text: f.EmailErr})
	}
	if f.RoleErr != "" {
		v.Problems = append(v.Problems, problem{Field: "invite-role", Text: f.RoleErr})
	}
	h.page(w, r, c, status, "settings-admins", v)
}

// adminRole reads an administrator's role from a form: "" if it is none.
func adminRole(s string) resources.Role {
	if r := resources.Role(s); r == resources.RoleOwner || r == resources.RoleCollaborator {
		return r
	}
	return ""
}

// inviteAdmin adds an administrator and emails them an invitation.
func (h *Handler) inviteAdmin(w http.ResponseWriter, r *http.Request, c *call) {
	f := inviteForm{Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role")}
	if f.Email == "" {
		f.EmailErr = "Enter the email address of the person to invite."
	}
	role := adminRole(f.Role)
	if role == "" {
		f.RoleErr = "Choose a role: owner or collaborator."
	}
	if f.EmailErr != "" || f.RoleErr != "" {
		h.adminsPage(w, r, c, http.StatusBadRequest, "", f)
		return
	}
	ad, err := h.svc.Admins.Invite(r.Context(), c.Org, c.Admin, f.Email, role)
	switch {
	case err == nil:
		h.redirect(w, r, c, "settings/admins", "Invitation sent to "+ad.Email+": they choose their password with the link in it.")
	case ad.ID != "":
		// Added, but the mail did not go: say so, and how to send it again.
		h.adminsPage(w, r, c, http.StatusServiceUnavailable, ad.Email+" is added as "+article(role)+" "+string(role)+
			", but the invitation email could not be sent. Use “Resend invitation” on their row in a few minutes.",
			inviteForm{Role: string(resources.RoleCollaborator)})
	case resources.ErrorCode(err) == resources.Uniqueness:
		f.EmailErr = f.Email + " is already an administrator of this organization."
		h.adminsPage(w, r, c, http.StatusConflict, "", f)
	case resources.ErrorCode(err) == resources.InvalidValue:
		f.EmailErr = "Enter an email address such as jane@example.com."
		h.adminsPage(w, r, c, http.StatusBadRequest, "", f)
	default:
		h.failed(w, r, c, err)
	}
}

// findAdmin returns the organization's administrator id; ok false means it
// answered (the list with the problem when there is none).
func (h *Handler) findAdmin(w http.ResponseWriter, r *http.Request, c *call, id string) (resources.Admin, bool) {
	list, err := h.svc.Admins.List(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return resources.Admin{}, false
	}
	for _, a := range list {
		if a.ID == id {
			return a, true
		}
	}
	h.adminsPage(w, r, c, http.StatusNotFound, "That administrator is no longer in the organization: nothing was changed.", inviteForm{Role: string(resources.RoleCollaborator)})
	return resources.Admin{}, false
}

// adminFailed answers an administrator change the domain refused (the last
// owner, an administrator removed meanwhile) on the list, with its detail;
// any other error as failed does.
func (h *Handler) adminFailed(w http.ResponseWriter, r *http.Request, c *call, err error) {
	if !userError(err) {
		h.failed(w, r, c, err)
		return
	}
	status, _ := statusOf(resources.ErrorCode(err))
	h.adminsPage(w, r, c, status, sentence(detail(err))+" Nothing was changed.", inviteForm{Role: string(resources.RoleCollaborator)})
}

// setAdminRole changes an administrator's role.
func (h *Handler) setAdminRole(w http.ResponseWriter, r *http.Request, c *call) {
	role := adminRole(r.PostFormValue("role"))
	if role == "" {
		h.adminsPage(w, r, c, http.StatusBadRequest, "Choose a role: owner or collaborator. Nothing was changed.", inviteForm{Role: string(resources.RoleCollaborator)})
		return
	}
	ad, err := h.svc.Admins.SetRole(r.Context(), c.Org, c.Admin, r.PathValue("id"), role)
	if err != nil {
		h.adminFailed(w, r, c, err)
		return
	}
	if ad.ID == c.Admin.ID && role != resources.RoleOwner {
		// The settings are owners only: go where a collaborator may.
		h.redirect(w, r, c, "account", "You are now a "+string(role)+": the settings are for owners only.")
		return
	}
	h.redirect(w, r, c, "settings/admins", ad.Email+" is now "+article(role)+" "+string(role)+".")
}

// article is the indefinite article of a role's name.
func article(r resources.Role) string {
	if r == resources.RoleOwner {
		return "an"
	}
	return "a"
}

// removeData is the page that confirms removing an administrator.
type removeData struct {
	settingsTab
	Admin resources.Admin
	Self  bool
}

// confirmRemoveAdmin asks before removing an administrator.
func (h *Handler) confirmRemoveAdmin(w http.ResponseWriter, r *http.Request, c *call) {
	ad, ok := h.findAdmin(w, r, c, r.PathValue("id"))
	if !ok {
		return
	}
	h.page(w, r, c, http.StatusOK, "settings-admin-remove", view{Title: "Remove " + ad.Email + "?", Nav: "settings",
		Data: removeData{settingsTab: settingsTab{tabAdmins}, Admin: ad, Self: ad.ID == c.Admin.ID}})
}

// removeAdmin removes an administrator; the store ends their sessions.
func (h *Handler) removeAdmin(w http.ResponseWriter, r *http.Request, c *call) {
	ad, ok := h.findAdmin(w, r, c, r.PathValue("id"))
	if !ok {
		return
	}
	if err := h.svc.Admins.Remove(r.Context(), c.Org, c.Admin, ad.ID); err != nil {
		h.adminFailed(w, r, c, err)
		return
	}
	if ad.ID == c.Admin.ID {
		http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		h.message(w, r, nil, http.StatusOK, "You are no longer an administrator",
			[]string{"You removed yourself from the organization's administrators, and you are signed out."}, &link{Href: c.url("signin"), Text: "Sign in"})
		return
	}
	h.redirect(w, r, c, "settings/admins", ad.Email+" is removed from the administrators and signed out everywhere.")
}

// resendAdminInvitation emails a new invitation to an administrator who has
// not chosen a password yet.
func (h *Handler) resendAdminInvitation(w http.ResponseWriter, r *http.Request, c *call) {
	ad, ok := h.findAdmin(w, r, c, r.PathValue("id"))
	if !ok {
		return
	}
	if err := h.svc.Admins.ResendInvitation(r.Context(), c.Org, c.Admin, ad.ID); err != nil {
		h.adminFailed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "settings/admins", "A new invitation is on its way to "+ad.Email+".")
}
