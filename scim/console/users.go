package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/web"
)

// usersPerPage is the size of a page of the customers list.
const usersPerPage = 25

// maxUserPage bounds ?page= of the customers list: 2.5 million customers.
const maxUserPage = 100000

// maxUserSearch bounds a search, in characters: no email or name is longer.
const maxUserSearch = 100

// maxUserNameLen bounds a first or last name, in characters.
const maxUserNameLen = 200

// userRoutes are the Manage > Users pages: the customers list, the New
// customer wizard (users_new.go), a customer's page with its Groups tab
// (users_groups.go) and the deletion confirmed by typing the username.
// Owners and collaborators alike manage customers (the guide: "An owner or
// a collaborator can manage customer accounts").
func (h *Handler) userRoutes() {
	h.mux.HandleFunc("GET "+base+"users", h.signedIn(h.users))
	h.mux.HandleFunc("GET "+base+"users/new", h.signedIn(h.newUserForm))
	h.mux.HandleFunc("POST "+base+"users/new", h.form(h.newUser))
	h.mux.HandleFunc("GET "+base+"users/{id}/new-groups", h.signedIn(h.userGroupsPage(true)))
	h.mux.HandleFunc("POST "+base+"users/{id}/new-groups", h.form(h.addUserGroups(true)))
	h.mux.HandleFunc("GET "+base+"users/{id}", h.signedIn(h.user))
	h.mux.HandleFunc("POST "+base+"users/{id}", h.form(h.editUser))
	h.mux.HandleFunc("POST "+base+"users/{id}/active", h.form(h.setUserActive))
	h.mux.HandleFunc("POST "+base+"users/{id}/invitation", h.form(h.resendUserInvitation))
	h.mux.HandleFunc("GET "+base+"users/{id}/groups", h.signedIn(h.userGroupsPage(false)))
	h.mux.HandleFunc("POST "+base+"users/{id}/groups", h.form(h.addUserGroups(false)))
	h.mux.HandleFunc("POST "+base+"users/{id}/groups/remove", h.form(h.removeUserGroup))
	h.mux.HandleFunc("GET "+base+"users/{id}/delete", h.signedIn(h.deleteUserForm))
	h.mux.HandleFunc("POST "+base+"users/{id}/delete", h.form(h.deleteUser))
}

// customer is a customer as the console shows it.
type customer struct {
	ID, Email             string
	GivenName, FamilyName string
	// State is the account state in words (see userStateWords).
	State  string
	Active bool
	// AccountState is the customer's onboarding state: the customer
	// extension's accountState, or while disabled the one it returns to.
	AccountState string
	// Setup is how the password was to be set, in words.
	Setup             string
	Groups            []resources.Ref
	Version           int64
	Created, Modified time.Time
	// attrs is the stored document, for the custom attributes' values.
	attrs map[string]any
}

// Name is the customer's name for display.
func (c customer) Name() string {
	return strings.TrimSpace(c.GivenName + " " + c.FamilyName)
}

// Invited reports whether the customer is waiting to accept an invitation.
func (c customer) Invited() bool {
	return c.AccountState == schemas.AccountStatePendingInvitation || c.AccountState == schemas.AccountStateInvitationNotDelivered
}

// customerOf reads a stored user for display.
func customerOf(r resources.Resource) (customer, error) {
	if err := r.DecodeAttributes(); err != nil {
		return customer{}, err
	}
	a := r.Attributes
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	name, _ := a["name"].(map[string]any)
	ext, _ := a[schemas.CustomerUserURN].(map[string]any)
	active, ok := resources.ParseBool(a["active"])
	c := customer{
		ID: r.ID, Email: str(a, "userName"), GivenName: str(name, "givenName"), FamilyName: str(name, "familyName"),
		Active: active || !ok, AccountState: resources.AccountState(r),
		Groups: r.Groups, Version: r.Version, Created: r.Created, Modified: r.Modified, attrs: a,
	}
	c.State = userStateWords(c.AccountState, c.Active)
	switch str(ext, "passwordSetup") {
	case schemas.PasswordSetupInvite:
		c.Setup = "Invited to set their own password"
	case schemas.PasswordSetupTemporaryPassword:
		c.Setup = "Temporary password set by an administrator"
	case "":
		if str(ext, "accountState") == schemas.AccountStatePendingConfirmation {
			c.Setup = "Registered themselves"
		}
	}
	return c, nil
}

// userStateWords is an account's state in words: a disabled account is
// disabled whatever its onboarding state.
func userStateWords(state string, active bool) string {
	if !active {
		return "Disabled"
	}
	switch state {
	case schemas.AccountStatePendingInvitation:
		return "Invited"
	case schemas.AccountStateInvitationNotDelivered:
		return "Invitation not delivered"
	case schemas.AccountStatePasswordChangeRequired:
		return "Must change password"
	case schemas.AccountStatePendingConfirmation:
		return "Pending confirmation"
	case schemas.AccountStateNoPassword:
		return "No password"
	}
	return "Active"
}

// usersData is the customers list's content.
type usersData struct {
	Q     string
	Rows  []customer
	Pager pager
}

// users lists the organization's customers, newest first, with a search
// by the start of the email or of a name.
func (h *Handler) users(w http.ResponseWriter, r *http.Request, c *call) {
	q := userSearchText(r.URL.Query().Get("q"))
	pg := pageParam(r, maxUserPage)
	v := view{Title: "Users", Nav: "users"}
	data := usersData{Q: q, Pager: pager{Page: pg, Size: usersPerPage}}
	if q != "" {
		data.Pager.Query = "q=" + url.QueryEscape(q)
	}
	res, err := h.listUsers(r, c, q, pg)
	switch {
	case resources.ErrorCode(err) == resources.TooMany:
		v.Problems = []problem{{Field: "q", Text: "Too many customers match “" + q + "”. Type more of the email or name."}}
		v.Data = data
		h.page(w, r, c, http.StatusBadRequest, "users", v)
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	data.Pager.Total = res.Total
	for _, u := range res.Resources {
		cu, err := customerOf(u)
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		data.Rows = append(data.Rows, cu)
	}
	v.Data = data
	h.page(w, r, c, http.StatusOK, "users", v)
}

// listUsers reads page pg of the customers matching the search q (all for
// ""), newest first: resources.Users.Search, which the store plans by how
// many customers match, so that it never reads every match of a broad
// search to sort them (see backend/user_search.go); without a search it
// reads the page by rank. A page shows how many groups each of its 25
// customers is in, which the store's bound on one customer's groups
// bounds: the API's bound on a list's groups in all, made for its pages of
// up to 1,000 users, is not this page's.
func (h *Handler) listUsers(r *http.Request, c *call, q string, pg int) (resources.Page, error) {
	var terms [][]resources.Prefix
	if q != "" {
		terms = userSearchTerms(q)
	}
	return h.svc.Users.Search(r.Context(), c.Org, resources.UserSearch{Terms: terms,
		Offset: (pg - 1) * usersPerPage, Count: usersPerPage})
}

// userSearchText is a search as typed, trimmed and bounded.
func userSearchText(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if utf8.RuneCountInString(q) > maxUserSearch {
		q = string([]rune(q)[:maxUserSearch])
	}
	return q
}

// userSearchTerms are the alternatives of a search of the customers list:
// the email or the first or last name starts with q, or, for two words or
// more, the first name starts with the first word and the last name with
// the rest ("jane do"). Every one is an indexed attribute, so the stores
// answer from their indexes.
func userSearchTerms(q string) [][]resources.Prefix {
	terms := [][]resources.Prefix{
		{{Attr: "userName", Value: q}}, {{Attr: "name.givenName", Value: q}}, {{Attr: "name.familyName", Value: q}},
	}
	if first, rest, ok := strings.Cut(q, " "); ok {
		terms = append(terms, []resources.Prefix{{Attr: "name.givenName", Value: first}, {Attr: "name.familyName", Value: rest}})
	}
	return terms
}

// userFilterString is s as a filter's string literal: a JSON string
// (RFC 7644 §3.4.2.2), so quotes and backslashes in it stay text.
func userFilterString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// userData is a customer's page's content.
type userData struct {
	User customer
	// Tab is "details" or "groups".
	Tab string
	// Fields edit the name; Version is the version they were filled from.
	Fields  []web.Field
	Version int64
	// Stale says what the administrator had entered when someone else
	// changed the customer first.
	Stale string
	// HasPassword tells a password reset from an invitation.
	HasPassword bool
	// Custom are the customer's values of custom attributes (users_custom.go).
	Custom []customValue
}

// userNameFields are the name form's fields.
func userNameFields(given, family, givenErr, familyErr string) []web.Field {
	fs := []web.Field{
		{ID: "givenName", Name: "givenName", Type: "text", Label: "First name", Value: given, Autocomplete: "off", MaxLength: maxUserNameLen, Error: givenErr},
		{ID: "familyName", Name: "familyName", Type: "text", Label: "Last name", Value: family, Autocomplete: "off", MaxLength: maxUserNameLen, Error: familyErr},
	}
	focusFirstError(fs)
	return fs
}

// focusFirstError puts the focus on the first field in error.
func focusFirstError(fs []web.Field) {
	for i := range fs {
		if fs[i].Error != "" {
			fs[i].Autofocus = true
			return
		}
	}
}

// fieldProblems is the error summary of fields.
func fieldProblems(fs ...web.Field) []problem {
	var ps []problem
	for _, f := range fs {
		if f.Error != "" {
			ps = append(ps, problem{Field: f.ID, Text: f.Error})
		}
	}
	return ps
}

// checkUserName is the problem with a first or last name, "" if none.
func checkUserName(label, v string) string {
	switch {
	case v == "":
		return "Enter the " + label + "."
	case utf8.RuneCountInString(v) > maxUserNameLen:
		return "The " + label + " must be at most " + strconv.Itoa(maxUserNameLen) + " characters long."
	case textProblem(v) != "":
		return "The " + label + " " + textProblem(v) + "."
	}
	return ""
}

// loadCustomer reads the customer of the request's {id}; ok false means it
// answered (404 for a customer of another organization, as for none).
func (h *Handler) loadCustomer(w http.ResponseWriter, r *http.Request, c *call) (customer, bool) {
	res, err := h.svc.Users.Get(r.Context(), c.Org, r.PathValue("id"))
	if err == nil {
		var cu customer
		if cu, err = customerOf(res); err == nil {
			return cu, true
		}
	}
	if resources.ErrorCode(err) == resources.NotFound {
		h.message(w, r, c, http.StatusNotFound, "Customer not found", []string{"There is no such customer in this organization. They may have been deleted."},
			&link{Href: c.url("users"), Text: "All customers"})
		return customer{}, false
	}
	h.failed(w, r, c, err)
	return customer{}, false
}

// userPage renders a customer's details page.
func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, c *call, status int, cu customer, v view, d userData) {
	has, err := h.svc.Users.HasPassword(r.Context(), c.Org, cu.ID)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	defs, _, err := h.svc.Users.Extensions(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	d.User, d.Tab, d.HasPassword, d.Custom = cu, "details", has, customValues(defs, cu.attrs)
	if d.Fields == nil {
		d.Fields = userNameFields(cu.GivenName, cu.FamilyName, "", "")
		d.Version = cu.Version
	}
	v.Title, v.Nav, v.Data = cu.Email, "users", d
	h.page(w, r, c, status, "user", v)
}

// user shows a customer: details, the name form, and what can be done.
func (h *Handler) user(w http.ResponseWriter, r *http.Request, c *call) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	h.userPage(w, r, c, http.StatusOK, cu, view{}, userData{})
}

// staleAlert is what a form says when another administrator changed the
// customer after it was shown.
const staleAlert = "This customer was changed by someone else"

// editUser changes a customer's first and last name, if the customer is
// still at the version the form was filled from: otherwise the page shows
// the current values and what the administrator had entered, and nothing
// changes.
func (h *Handler) editUser(w http.ResponseWriter, r *http.Request, c *call) {
	given, family := strings.TrimSpace(r.PostFormValue("givenName")), strings.TrimSpace(r.PostFormValue("familyName"))
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	if version <= 0 {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read. Go back, reload the page and try again."}, nil)
		return
	}
	if gErr, fErr := checkUserName("first name", given), checkUserName("last name", family); gErr != "" || fErr != "" {
		fs := userNameFields(given, family, gErr, fErr)
		h.userPage(w, r, c, http.StatusBadRequest, cu, view{Problems: fieldProblems(fs...)}, userData{Fields: fs, Version: version})
		return
	}
	ops := []resources.PatchOp{
		{Op: "replace", Path: "name.givenName", Value: given, HasValue: true},
		{Op: "replace", Path: "name.familyName", Value: family, HasValue: true},
	}
	res, err := h.svc.Users.Patch(r.Context(), c.Org, cu.ID, ops, version)
	switch {
	case resources.ErrorCode(err) == resources.PreconditionFailed:
		h.staleUser(w, r, c, "Your changes were not saved. You had entered: first name “"+given+"”, last name “"+family+"”. The current values are below: check them and save again.")
		return
	case userError(err) && resources.ErrorCode(err) != resources.NotFound:
		fs := userNameFields(given, family, "", "")
		h.userPage(w, r, c, http.StatusBadRequest, cu, view{Alert: detail(err)}, userData{Fields: fs, Version: version})
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	flash := "Name saved."
	if res.Version == version {
		flash = "Nothing to save: the name is unchanged."
	}
	h.redirect(w, r, c, "users/"+cu.ID, flash)
}

// staleUser answers a form whose customer changed meanwhile: 409, the
// customer as it is now, and why.
func (h *Handler) staleUser(w http.ResponseWriter, r *http.Request, c *call, why string) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	h.userPage(w, r, c, http.StatusConflict, cu, view{Alert: staleAlert}, userData{Stale: why})
}

// setUserActive disables or enables a customer, if the customer is still
// at the version the page showed.
func (h *Handler) setUserActive(w http.ResponseWriter, r *http.Request, c *call) {
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	active, ok := map[string]bool{"true": true, "false": false}[r.PostFormValue("active")]
	if !ok || version <= 0 {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read. Go back, reload the page and try again."}, nil)
		return
	}
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	_, err := h.svc.Users.Patch(r.Context(), c.Org, cu.ID, []resources.PatchOp{{Op: "replace", Path: "active", Value: active, HasValue: true}}, version)
	if resources.ErrorCode(err) == resources.PreconditionFailed {
		h.staleUser(w, r, c, "Nothing was changed. Check the customer's current state below and try again if you still want to.")
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	flash := cu.Email + " is disabled: they can no longer sign in."
	if active {
		flash = cu.Email + " is enabled: they can sign in again."
	}
	h.redirect(w, r, c, "users/"+cu.ID, flash)
}

// resendUserInvitation emails a customer a new invitation, or, when they
// have a password, a password-reset link (resources.Users.ResendInvitation
// decides); the link sent before stops working.
func (h *Handler) resendUserInvitation(w http.ResponseWriter, r *http.Request, c *call) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	res, err := h.svc.Users.ResendInvitation(r.Context(), c.Org, cu.ID)
	switch {
	case resources.ErrorCode(err) == resources.Unavailable:
		h.log.WarnContext(r.Context(), "console email not sent", "org", c.Org, "resource_id", cu.ID, "err", err)
		if cu, ok = h.loadCustomer(w, r, c); ok {
			h.userPage(w, r, c, http.StatusServiceUnavailable, cu, view{Alert: "The email to " + cu.Email + " could not be sent. Please try again in a few minutes."}, userData{})
		}
		return
	case userError(err) && resources.ErrorCode(err) != resources.NotFound:
		h.userPage(w, r, c, http.StatusConflict, cu, view{Alert: detail(err)}, userData{})
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	now, err := customerOf(res)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	flash := "Password reset link sent to " + cu.Email + ". Their current password works until they use it."
	if now.Invited() {
		flash = "Invitation sent to " + cu.Email + ". The link sent before no longer works."
	}
	h.redirect(w, r, c, "users/"+cu.ID, flash)
}

// userDeleteData is the deletion page's content.
type userDeleteData struct {
	User  customer
	Field web.Field
}

func userConfirmField(email, value, problem string) web.Field {
	return web.Field{ID: "confirm", Name: "confirm", Type: "text", Label: "Type the username " + email + " to confirm",
		Hint: "Exactly as shown: the customer's email address, letter case included.", Value: value, Autocomplete: "off",
		Error: problem, Autofocus: true}
}

// deleteUserForm asks to confirm a deletion by typing the username.
func (h *Handler) deleteUserForm(w http.ResponseWriter, r *http.Request, c *call) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	h.page(w, r, c, http.StatusOK, "user-delete", view{Title: "Delete " + cu.Email, Nav: "users",
		Data: userDeleteData{User: cu, Field: userConfirmField(cu.Email, "", "")}})
}

// deleteUser deletes a customer for good, once the username typed matches
// theirs exactly (surrounding spaces aside; letter case counts). The page's
// script only disables Confirm until then: this check is the guarantee.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, c *call) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	// Exactly as the issue asks: no trimming, no case folding.
	typed := r.PostFormValue("confirm")
	if typed != cu.Email {
		msg := "Type the username " + cu.Email + " exactly to delete this customer."
		if typed != "" {
			msg = "That is not this customer's username. Type " + cu.Email + " exactly to delete them."
		}
		f := userConfirmField(cu.Email, typed, msg)
		h.page(w, r, c, http.StatusBadRequest, "user-delete", view{Title: "Delete " + cu.Email, Nav: "users",
			Problems: fieldProblems(f), Data: userDeleteData{User: cu, Field: f}})
		return
	}
	err := h.svc.Users.Delete(r.Context(), c.Org, cu.ID, 0)
	if err != nil && resources.ErrorCode(err) != resources.NotFound {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "users", "Customer "+cu.Email+" was deleted.")
}
