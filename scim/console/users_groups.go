package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

// A customer's groups are assigned in two places: step 2 of the New
// customer wizard and the Groups tab of the customer's page. Both show the
// customer's groups and a searchable, paged list of the organization's
// groups with a checkbox each. Adding is all or nothing: each group is its
// own write, so when one fails the groups added before it are left again,
// and the page says so (and names any that could not be left).

// userGroupsPerPage is the size of a page of the group picker.
const userGroupsPerPage = 20

// maxUserGroupsAdded bounds the groups one submission adds.
const maxUserGroupsAdded = 100

// userGroupsData is the content of the Groups tab and of the wizard's
// step 2.
type userGroupsData struct {
	User   customer
	Tab    string
	Wizard bool
	// Action is the path the picker posts to, relative to the console.
	Action  string
	Q       string
	Page    int
	Choices []userGroupChoice
	Pager   pager
}

// userGroupChoice is a group of the picker.
type userGroupChoice struct {
	ID, Name string
	// Member: the customer is in it already.
	Member bool
}

// userGroupsPath is the address of the picker's page.
func userGroupsPath(id string, wizard bool) string {
	if wizard {
		return "users/" + id + "/new-groups"
	}
	return "users/" + id + "/groups"
}

// userGroupsPage shows a customer's groups and the picker.
func (h *Handler) userGroupsPage(wizard bool) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		cu, ok := h.loadCustomer(w, r, c)
		if !ok {
			return
		}
		h.renderUserGroups(w, r, c, http.StatusOK, cu, wizard, view{})
	}
}

// renderUserGroups renders the groups page of cu; the search and page come
// from the request's q and page (query or form).
func (h *Handler) renderUserGroups(w http.ResponseWriter, r *http.Request, c *call, status int, cu customer, wizard bool, v view) {
	q := userSearchText(r.FormValue("q"))
	pg, err := strconv.Atoi(r.FormValue("page"))
	if err != nil || pg < 1 {
		pg = 1
	}
	pg = min(pg, maxUserPage)
	rt := h.svc.Groups.ResourceType()
	sort, err := resources.ParseSort(rt, "displayName", "ascending")
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	query := resources.Query{Sort: sort, StartIndex: (pg-1)*userGroupsPerPage + 1, Count: userGroupsPerPage}
	if q != "" {
		if query.Filter, err = resources.ParseFilter(rt, "displayName sw "+userFilterString(q), ""); err != nil {
			h.failed(w, r, c, err)
			return
		}
	}
	d := userGroupsData{User: cu, Tab: "groups", Wizard: wizard, Action: c.url(userGroupsPath(cu.ID, wizard)), Q: q, Page: pg,
		Pager: pager{Page: pg, Size: userGroupsPerPage}}
	if q != "" {
		d.Pager.Query = "q=" + url.QueryEscape(q)
	}
	res, err := h.svc.Groups.List(r.Context(), c.Org, query)
	if resources.ErrorCode(err) == resources.TooMany {
		v.Problems = append(v.Problems, problem{Field: "q", Text: "Too many groups match “" + q + "”. Type more of the name."})
		status = max(status, http.StatusBadRequest)
	} else if err != nil {
		h.failed(w, r, c, err)
		return
	}
	d.Pager.Total = res.Total
	for _, g := range res.Resources {
		name, _ := g.Attributes["displayName"].(string)
		d.Choices = append(d.Choices, userGroupChoice{ID: g.ID, Name: name,
			Member: slices.ContainsFunc(cu.Groups, func(ref resources.Ref) bool { return ref.ID == g.ID })})
	}
	v.Nav, v.Data = "users", d
	if v.Title = cu.Email; wizard {
		v.Title = "New customer: assign groups"
	}
	h.page(w, r, c, status, "user-groups", v)
}

// addUserGroups adds the customer to the groups checked, all or nothing.
// In the wizard, Finish then leads to the customer's page saying what
// happened; otherwise the page comes back, with its search.
func (h *Handler) addUserGroups(wizard bool) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		cu, ok := h.loadCustomer(w, r, c)
		if !ok {
			return
		}
		var ids []string
		for _, id := range r.PostForm["group"] {
			if id != "" && !slices.Contains(ids, id) &&
				!slices.ContainsFunc(cu.Groups, func(ref resources.Ref) bool { return ref.ID == id }) {
				ids = append(ids, id)
			}
		}
		finish := wizard && r.PostFormValue("then") == "finish"
		if len(ids) > maxUserGroupsAdded {
			h.renderUserGroups(w, r, c, http.StatusBadRequest, cu, wizard,
				view{Alert: "Select at most " + strconv.Itoa(maxUserGroupsAdded) + " groups at a time. Nothing was changed."})
			return
		}
		if len(ids) == 0 && !finish {
			h.renderUserGroups(w, r, c, http.StatusBadRequest, cu, wizard,
				view{Problems: []problem{{Field: "groups", Text: "Select at least one group to add."}}})
			return
		}
		if len(ids) > 0 {
			left, err := h.addUserToGroups(r.Context(), c.Org, cu.ID, ids)
			if err != nil {
				h.userGroupsFailed(w, r, c, cu, wizard, err, left)
				return
			}
		}
		now, ok := h.loadCustomer(w, r, c)
		if !ok {
			return
		}
		added := userGroupNames(now.Groups, ids)
		if finish {
			flash := strings.TrimSpace(userOutcome(now) + " " + addedSentence(added, "No groups assigned."))
			h.redirect(w, r, c, "users/"+cu.ID, flash)
			return
		}
		back := userGroupsPath(cu.ID, wizard)
		if q := userSearchText(r.PostFormValue("q")); q != "" {
			back += "?q=" + url.QueryEscape(q)
		}
		h.redirect(w, r, c, back, addedSentence(added, ""))
	}
}

// addedSentence says which groups were added, or none when there are none.
func addedSentence(names []string, none string) string {
	switch len(names) {
	case 0:
		return none
	case 1:
		return "Added to the group " + names[0] + "."
	}
	return "Added to the groups " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + "."
}

// userGroupNames are the names of the groups ids among refs.
func userGroupNames(refs []resources.Ref, ids []string) []string {
	var names []string
	for _, ref := range refs {
		if slices.Contains(ids, ref.ID) {
			names = append(names, ref.Display)
		}
	}
	return names
}

// addUserToGroups adds the customer uid to the groups gids, in order; when
// one fails, it takes the customer out of those it was added to, and
// returns the error and the ids of any it could not take it out of.
func (h *Handler) addUserToGroups(ctx context.Context, org, uid string, gids []string) (left []string, err error) {
	add := []resources.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": uid}}, HasValue: true}}
	for i, gid := range gids {
		if _, err = h.svc.Groups.Patch(ctx, org, gid, add, 0); err == nil {
			continue
		}
		// Undo even if the administrator has gone: half a change is the
		// one outcome the page promised not to leave.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, done := range gids[:i] {
			if uerr := h.removeUserFromGroup(uctx, org, uid, done); uerr != nil {
				h.log.ErrorContext(ctx, "console group add not undone", "org", org, "resource_id", uid, "group", done, "err", uerr)
				left = append(left, done)
			}
		}
		return left, err
	}
	return nil, nil
}

// removeUserFromGroup takes the customer uid out of the group gid.
func (h *Handler) removeUserFromGroup(ctx context.Context, org, uid, gid string) error {
	_, err := h.svc.Groups.Patch(ctx, org, gid, []resources.PatchOp{{Op: "remove", Path: "members[value eq " + userFilterString(uid) + "]"}}, 0)
	return err
}

// userGroupsFailed answers an addition that failed and was undone (but for
// the groups left).
func (h *Handler) userGroupsFailed(w http.ResponseWriter, r *http.Request, c *call, cu customer, wizard bool, err error, left []string) {
	status, why := http.StatusInternalServerError, "something went wrong on our side."
	switch code := resources.ErrorCode(err); {
	case code == resources.NotFound:
		status, why = http.StatusConflict, "one of the selected groups no longer exists (someone may have just deleted it)."
	case code == resources.Unavailable:
		status, why = http.StatusServiceUnavailable, "the store cannot be reached for a moment. Please try again in a few seconds."
	case userError(err):
		status, _ = statusOf(code)
		why = detail(err)
	default:
		h.log.ErrorContext(r.Context(), "console group add failed", "org", c.Org, "resource_id", cu.ID, "err", err)
	}
	alert := "No groups were added: " + why
	if wizard {
		alert = "The customer was created, but no groups were added: " + why
	}
	now, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	if names := userGroupNames(now.Groups, left); len(left) > 0 {
		alert += " The customer could not be taken out again of " + strconv.Itoa(len(left)) + " of the groups added before the failure (" +
			strings.Join(names, ", ") + "): remove them below if they should not be there."
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	h.renderUserGroups(w, r, c, status, now, wizard, view{Alert: alert})
}

// removeUserGroup takes the customer out of one group.
func (h *Handler) removeUserGroup(w http.ResponseWriter, r *http.Request, c *call) {
	cu, ok := h.loadCustomer(w, r, c)
	if !ok {
		return
	}
	gid := r.PostFormValue("group")
	i := slices.IndexFunc(cu.Groups, func(ref resources.Ref) bool { return ref.ID == gid })
	if i < 0 {
		h.redirect(w, r, c, userGroupsPath(cu.ID, false), "The customer is not in that group (any more): nothing to remove.")
		return
	}
	err := h.removeUserFromGroup(r.Context(), c.Org, cu.ID, gid)
	switch {
	case resources.ErrorCode(err) == resources.NotFound:
		h.redirect(w, r, c, userGroupsPath(cu.ID, false), "That group no longer exists.")
	case err != nil:
		h.failed(w, r, c, err)
	default:
		h.redirect(w, r, c, userGroupsPath(cu.ID, false), "Removed from the group "+cu.Groups[i].Display+".")
	}
}
