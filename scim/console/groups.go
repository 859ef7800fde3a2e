package console

import (
	"context"
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

// groupRoutes are the Groups pages: the list (search, creation), a group's
// details (rename), its members tab (group_members.go) and its deletion.
// Owners and collaborators alike manage groups.
func (h *Handler) groupRoutes() {
	h.mux.HandleFunc("GET "+base+"groups", h.signedIn(h.groups))
	h.mux.HandleFunc("POST "+base+"groups", h.form(h.createGroup))
	h.mux.HandleFunc("GET "+base+"groups/{id}", h.signedIn(h.group))
	h.mux.HandleFunc("POST "+base+"groups/{id}", h.form(h.renameGroup))
	h.mux.HandleFunc("GET "+base+"groups/{id}/members", h.signedIn(h.groupMembers))
	h.mux.HandleFunc("POST "+base+"groups/{id}/members", h.form(h.addGroupMembers))
	h.mux.HandleFunc("POST "+base+"groups/{id}/members/remove", h.form(h.removeGroupMember))
	h.mux.HandleFunc("GET "+base+"groups/{id}/delete", h.signedIn(h.deleteGroupForm))
	h.mux.HandleFunc("POST "+base+"groups/{id}/delete", h.form(h.deleteGroup))
}

const (
	// groupsPerPage is the size of a page of the groups list.
	groupsPerPage = 25
	// maxGroupName bounds, in characters, a name given in the console.
	maxGroupName = 256
	// maxSearch bounds, in characters, a search: longer text is cut.
	maxSearch = 200
	// maxPage bounds a ?page= before the total is known.
	maxPage = 1 << 20
)

// groupsData is the groups list's content.
type groupsData struct {
	Search, Name web.Field
	// Query is the search, "" for none.
	Query  string
	Groups []groupRow
	Pager  pager
}

// groupRow is a group in the list. It has no member count: a group's
// members are a hash in the store that a list reads only whole (every
// member of every listed group), so the count is shown on the group's
// members tab instead.
type groupRow struct {
	Href, Name string
	Created    time.Time
}

// searchParam reads a search from ?q= (or a form's q), trimmed and bounded.
func searchParam(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxSearch {
		s = string([]rune(s)[:maxSearch])
	}
	return s
}

// scimString is s as a SCIM filter string literal: a JSON string (RFC 7644
// §3.4.2.2, compValue), so that no text typed into a search box can change
// the filter around it.
func scimString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

func (h *Handler) groups(w http.ResponseWriter, r *http.Request, c *call) {
	h.showGroups(w, r, c, http.StatusOK, view{}, "", "")
}

// showGroups renders the groups list for ?q= and ?page=, with the creation
// form holding name and its problem nameErr.
func (h *Handler) showGroups(w http.ResponseWriter, r *http.Request, c *call, status int, v view, name, nameErr string) {
	q := searchParam(r.URL.Query().Get("q"))
	d := groupsData{
		Query: q,
		Search: web.Field{ID: "q", Name: "q", Type: "search", Label: "Search groups", Hint: "The start of the group's name.",
			Value: q, MaxLength: maxSearch},
		Name: web.Field{ID: "displayName", Name: "displayName", Type: "text", Label: "Name", Value: name, Error: nameErr,
			Hint: "Unique in the organization, ignoring case.", MaxLength: maxGroupName, Autofocus: nameErr != ""},
		Pager: pager{Size: groupsPerPage},
	}
	if q != "" {
		d.Pager.Query = "q=" + url.QueryEscape(q)
	}
	if nameErr != "" {
		v.Problems = append(v.Problems, problem{Field: "displayName", Text: nameErr})
	}
	page := pageParam(r, maxPage)
	res, err := h.findGroups(r.Context(), c.Org, q, page)
	if err == nil && len(res.Resources) == 0 && res.Total > 0 && page > 1 {
		// Past the end (a stale link): show the last page.
		page = (res.Total + groupsPerPage - 1) / groupsPerPage
		res, err = h.findGroups(r.Context(), c.Org, q, page)
	}
	switch {
	case err == nil:
	case resources.ErrorCode(err) == resources.TooMany:
		d.Search.Error = "Too many groups start with “" + q + "” to list them by name. Type more of the name."
		d.Search.Autofocus = nameErr == ""
		v.Problems = append(v.Problems, problem{Field: "q", Text: d.Search.Error})
	default:
		h.failed(w, r, c, err)
		return
	}
	d.Pager.Page, d.Pager.Total = page, res.Total
	for _, g := range res.Resources {
		d.Groups = append(d.Groups, groupRow{Href: c.url(groupPath(g.ID, "")), Name: groupName(g), Created: g.Created})
	}
	v.Title, v.Nav, v.Data = "Groups", "groups", d
	h.page(w, r, c, status, "groups", v)
}

// findGroups reads page (1-based) of the groups whose name starts with q
// (every group for ""), by name.
func (h *Handler) findGroups(ctx context.Context, org, q string, page int) (resources.Page, error) {
	rt := h.svc.Groups.ResourceType()
	sort, err := resources.ParseSort(rt, "displayName", "ascending")
	if err != nil {
		return resources.Page{}, err
	}
	query := resources.Query{StartIndex: (page-1)*groupsPerPage + 1, Count: groupsPerPage, Sort: sort}
	if q != "" {
		if query.Filter, err = resources.ParseFilter(rt, "displayName sw "+scimString(q), ""); err != nil {
			return resources.Page{}, err
		}
	}
	return h.svc.Groups.List(ctx, org, query)
}

// groupPath is the console path of a group's page: its details, or the
// tab sub ("members", "delete").
func groupPath(id, sub string) string {
	p := "groups/" + url.PathEscape(id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// groupName is a group's displayName.
func groupName(g resources.Resource) string {
	s, _ := g.Attributes["displayName"].(string)
	return s
}

// checkGroupName returns the problem with a name typed for a group, "" if
// none.
func checkGroupName(name string) string {
	switch {
	case name == "":
		return "Enter the group's name."
	case utf8.RuneCountInString(name) > maxGroupName:
		return "The name is too long: at most " + strconv.Itoa(maxGroupName) + " characters."
	case textProblem(name) != "":
		return "The name " + textProblem(name) + "."
	}
	return ""
}

// groupNameError is what the name field of a form says when the group
// service refused the name, "" when err is not about the name.
func groupNameError(err error, name string) string {
	switch resources.ErrorCode(err) {
	case resources.Uniqueness:
		return "A group named “" + name + "” already exists (names are unique, ignoring case). Choose another name."
	case resources.InvalidValue, resources.InvalidSyntax:
		return detail(err)
	}
	return ""
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, c *call) {
	name := strings.TrimSpace(r.PostFormValue("displayName"))
	if p := checkGroupName(name); p != "" {
		h.showGroups(w, r, c, http.StatusUnprocessableEntity, view{}, name, p)
		return
	}
	g, err := h.svc.Groups.Create(r.Context(), c.Org, map[string]any{"schemas": []any{schemas.GroupURN}, "displayName": name})
	if p := groupNameError(err, name); p != "" {
		status := http.StatusUnprocessableEntity
		if resources.ErrorCode(err) == resources.Uniqueness {
			status = http.StatusConflict
		}
		h.showGroups(w, r, c, status, view{}, name, p)
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, groupPath(g.ID, "members"), "Group “"+name+"” created. Find the customers to add to it below.")
}

// groupData is a group's details page: its facts and the rename form.
type groupData struct {
	ID, Name, Base    string
	Created, Modified time.Time
	// Version is the version the rename form was made from (If-Match).
	Version int64
	Rename  web.Field
}

func (h *Handler) group(w http.ResponseWriter, r *http.Request, c *call) {
	g, err := h.svc.Groups.Get(r.Context(), c.Org, r.PathValue("id"), false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.showGroup(w, r, c, http.StatusOK, view{}, g, g.Version, groupName(g), "")
}

// showGroup renders g's details with the rename form made from version,
// holding name and its problem nameErr.
func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request, c *call, status int, v view, g resources.Resource, version int64, name, nameErr string) {
	d := groupData{ID: g.ID, Name: groupName(g), Base: c.url(groupPath(g.ID, "")), Created: g.Created, Modified: g.Modified, Version: version,
		Rename: web.Field{ID: "displayName", Name: "displayName", Type: "text", Label: "Name", Value: name, Error: nameErr,
			Hint:      "Unique in the organization, ignoring case. Applications and identity providers see the new name at once.",
			MaxLength: maxGroupName, Autofocus: nameErr != ""}}
	if nameErr != "" {
		v.Problems = append(v.Problems, problem{Field: "displayName", Text: nameErr})
	}
	v.Title, v.Nav, v.Data = d.Name, "groups", d
	h.page(w, r, c, status, "group", v)
}

// renameGroup renames a group if it is still at the version the form was
// made from: a group changed meanwhile (renamed, or its members changed)
// is shown again, as it is now, and nothing is written.
func (h *Handler) renameGroup(w http.ResponseWriter, r *http.Request, c *call) {
	ctx, id := r.Context(), r.PathValue("id")
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version < 1 {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read, and nothing was changed. Go back, reload the page and try again."}, nil)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("displayName"))
	refused := func(status int, nameErr string) {
		cur, err := h.svc.Groups.Get(ctx, c.Org, id, false)
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		h.showGroup(w, r, c, status, view{}, cur, version, name, nameErr)
	}
	if p := checkGroupName(name); p != "" {
		refused(http.StatusUnprocessableEntity, p)
		return
	}
	ops := []resources.PatchOp{{Op: "replace", Path: "displayName", Value: name, HasValue: true}}
	_, err = h.svc.Groups.Patch(ctx, c.Org, id, ops, version)
	switch resources.ErrorCode(err) {
	case 0:
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		h.redirect(w, r, c, groupPath(id, ""), "Group renamed to “"+name+"”.")
	case resources.PreconditionFailed:
		cur, err := h.svc.Groups.Get(ctx, c.Org, id, false)
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		h.showGroup(w, r, c, http.StatusPreconditionFailed, view{Alert: "This group was changed by someone else since you opened this page, so your new name “" +
			name + "” was not saved. Its current values are shown below: check them and rename it again if you still want to."},
			cur, cur.Version, groupName(cur), "")
	case resources.Uniqueness:
		refused(http.StatusConflict, groupNameError(err, name))
	default:
		if p := groupNameError(err, name); p != "" {
			refused(http.StatusUnprocessableEntity, p)
			return
		}
		h.failed(w, r, c, err)
	}
}

// groupDeleteData is the deletion page's content.
type groupDeleteData struct {
	Name, Base string
	Confirm    web.Field
}

func (h *Handler) deleteGroupForm(w http.ResponseWriter, r *http.Request, c *call) {
	g, err := h.svc.Groups.Get(r.Context(), c.Org, r.PathValue("id"), false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.showDeleteGroup(w, r, c, http.StatusOK, view{}, g, "", "")
}

func (h *Handler) showDeleteGroup(w http.ResponseWriter, r *http.Request, c *call, status int, v view, g resources.Resource, typed, typedErr string) {
	name := groupName(g)
	d := groupDeleteData{Name: name, Base: c.url(groupPath(g.ID, "")),
		Confirm: web.Field{ID: "confirm", Name: "confirm", Type: "text", Label: "Type the group's name to confirm", Value: typed, Error: typedErr,
			Hint: "Exactly as shown: " + name, Autocomplete: "off", Autofocus: true}}
	if typedErr != "" {
		v.Problems = append(v.Problems, problem{Field: "confirm", Text: typedErr})
	}
	v.Title, v.Nav, v.Data = "Delete group “"+name+"”", "groups", d
	h.page(w, r, c, status, "group-delete", v)
}

// deleteGroup deletes a group once its name is typed exactly as it is now
// (a group renamed since the page was opened asks again). Its members are
// not deleted: they lose the group.
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) {
	ctx, id := r.Context(), r.PathValue("id")
	typed := r.PostFormValue("confirm")
	g, err := h.svc.Groups.Get(ctx, c.Org, id, false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	name := groupName(g)
	if typed != name {
		h.showDeleteGroup(w, r, c, http.StatusUnprocessableEntity, view{}, g, typed,
			"Type the group's name exactly as shown, “"+name+"”, to delete it. Nothing was deleted.")
		return
	}
	// The version read above: renamed in between, the typed name no longer
	// names it.
	err = h.svc.Groups.Delete(ctx, c.Org, id, g.Version)
	if resources.ErrorCode(err) == resources.PreconditionFailed {
		cur, err := h.svc.Groups.Get(ctx, c.Org, id, false)
		if err != nil {
			h.failed(w, r, c, err)
			return
		}
		h.showDeleteGroup(w, r, c, http.StatusPreconditionFailed, view{Alert: "This group was changed by someone else while you were deleting it, and nothing was deleted. Check its name below and confirm again."}, cur, "", "")
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "groups", "Group “"+name+"” deleted. Its members were not deleted: they are no longer in it.")
}
