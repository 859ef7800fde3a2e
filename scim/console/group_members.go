package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web"
)

// A group's members tab: its members, paged, each with a remove button,
// and a search of the organization's customers to add.
//
// The store keeps the members in display order beside the members
// (resources.Groups.MemberPage): a page is read by key (the previous
// page's last member, or the next page's first), so it costs the same at
// the start and the end of a group of any size, and so does a filter by
// the start of the members' names. Adding and removing never read the
// members (a membership delta).

const (
	// membersPerPage is the size of a page of a group's members.
	membersPerPage = 50
	// candidatesShown bounds the customers a search shows to add.
	candidatesShown = 20
	// maxMembersAdded bounds the customers one form adds.
	maxMembersAdded = 100
)

// membersData is the members tab's content.
type membersData struct {
	ID, Name, Base string
	// Members is the page's members; Total the group's.
	Members []memberRow
	Total   int
	Pager   keyPager
	// Filter is the members' filter box; At the page's keys (after or
	// before), both kept by the forms with Filter's value.
	Filter web.Field
	At     url.Values
	// Search is the search box; Query its text, kept by the forms.
	Search web.Field
	Query  string
	// Candidates are the customers the search found (at most
	// candidatesShown of CandidatesTotal).
	Candidates      []candidate
	CandidatesTotal int
}

// memberRow is a member of the group.
type memberRow struct {
	ID, Display, Href string
}

// candidate is a customer found to add to the group.
type candidate struct {
	ID, UserName, Name, Href string
	// Member reports that the customer is in the group already.
	Member bool
}

// Addable reports that a customer found is not in the group yet.
func (d membersData) Addable() bool {
	return slices.ContainsFunc(d.Candidates, func(c candidate) bool { return !c.Member })
}

// More reports that the search found more customers than it shows.
func (d membersData) More() bool { return d.CandidatesTotal > len(d.Candidates) }

func (h *Handler) groupMembers(w http.ResponseWriter, r *http.Request, c *call) {
	h.showMembers(w, r, c, http.StatusOK, view{}, readMembersAt(r.URL.Query()))
}

// membersAt is where the members tab is: the customers' search (q), the
// members' filter (m) and the page's key (after or before).
type membersAt struct{ q, m, after, before string }

// readMembersAt reads a membersAt from a query or a form.
func readMembersAt(v url.Values) membersAt {
	return membersAt{q: searchParam(v.Get("q")), m: searchParam(v.Get("m")), after: v.Get("after"), before: v.Get("before")}
}

// values is at as the query of the members tab's address.
func (at membersAt) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"q", at.q}, {"m", at.m}, {"after", at.after}, {"before", at.before}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// keyPager links a page of members read by key to its neighbours.
type keyPager struct {
	// First and Last are the 1-based positions of the page's first and
	// last members, of Total (0 0 when the page is empty).
	First, Last, Total int
	// PrevHref and NextHref are the neighbouring pages' addresses, "" for
	// none; FirstHref the first page's, "" on it.
	PrevHref, NextHref, FirstHref string
}

// showMembers renders the members tab at at.
func (h *Handler) showMembers(w http.ResponseWriter, r *http.Request, c *call, status int, v view, at membersAt) {
	ctx, id := r.Context(), r.PathValue("id")
	g, err := h.svc.Groups.Get(ctx, c.Org, id, false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	pg, err := h.svc.Groups.MemberPage(ctx, c.Org, id, resources.MemberPageQuery{Prefix: at.m, After: at.after, Before: at.before, Count: membersPerPage})
	if resources.ErrorCode(err) == resources.InvalidValue {
		// A key edited by hand: the first page.
		at.after, at.before = "", ""
		pg, err = h.svc.Groups.MemberPage(ctx, c.Org, id, resources.MemberPageQuery{Prefix: at.m, Count: membersPerPage})
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	q := at.q
	d := membersData{ID: g.ID, Name: groupName(g), Base: c.url(groupPath(g.ID, "")), Query: q, Total: pg.Total,
		At: membersAt{after: at.after, before: at.before}.values(),
		Filter: web.Field{ID: "m", Name: "m", Type: "search", Label: "Find members", Value: at.m, MaxLength: maxSearch,
			Hint: "The start of their name or email."},
		Search: web.Field{ID: "q", Name: "q", Type: "search", Label: "Add customers", Value: q, MaxLength: maxSearch,
			Hint: "Search by the start of their email, first name or last name, or by first and last names."}}
	d.Pager = keyPager{Total: pg.Matching}
	if len(pg.Members) > 0 {
		d.Pager.First, d.Pager.Last = pg.Offset+1, pg.Offset+len(pg.Members)
	}
	href := func(key, val string) string {
		v := membersAt{q: at.q, m: at.m}.values()
		if key != "" {
			v.Set(key, val)
		}
		if len(v) == 0 {
			return "members#members"
		}
		return "members?" + v.Encode() + "#members"
	}
	if pg.Prev != "" {
		d.Pager.PrevHref, d.Pager.FirstHref = href("before", pg.Prev), href("", "")
	}
	if pg.Next != "" {
		d.Pager.NextHref = href("after", pg.Next)
	}
	for _, m := range pg.Members {
		d.Members = append(d.Members, memberRow{ID: m.ID, Display: m.Display, Href: c.url("users/" + url.PathEscape(m.ID))})
	}
	if q != "" {
		d.Candidates, d.CandidatesTotal, err = h.findCandidates(ctx, c, q, g.ID)
		switch {
		case err == nil:
		case resources.ErrorCode(err) == resources.TooMany:
			d.Search.Error = "Too many customers match “" + q + "” to list them. Type more of their email or name."
		case userError(err):
			d.Search.Error = detail(err)
		default:
			h.failed(w, r, c, err)
			return
		}
		if d.Search.Error != "" {
			d.Search.Autofocus = len(v.Problems) == 0
			v.Problems = append(v.Problems, problem{Field: "q", Text: d.Search.Error})
		}
	}
	v.Title, v.Nav, v.Data = d.Name, "groups", d
	h.page(w, r, c, status, "group-members", v)
}

// candidateFilter is the filter of the customers whose email or name
// start with q: userName, an email, the first or the last name, or, when q
// has two words or more, the first name starting with the first word and
// the last name with the rest.
func candidateFilter(q string) string {
	lit := scimString(q)
	f := "userName sw " + lit + " or emails.value sw " + lit + " or name.givenName sw " + lit + " or name.familyName sw " + lit
	if first, rest, ok := strings.Cut(q, " "); ok {
		if rest = strings.TrimSpace(rest); rest != "" {
			f += " or (name.givenName sw " + scimString(first) + " and name.familyName sw " + scimString(rest) + ")"
		}
	}
	return f
}

// findCandidates returns the first customers matching q (see
// candidateFilter), in creation order, and how many match.
func (h *Handler) findCandidates(ctx context.Context, c *call, q, groupID string) ([]candidate, int, error) {
	f, err := resources.ParseFilter(h.svc.Users.ResourceType(), candidateFilter(q), "")
	if err != nil {
		return nil, 0, err
	}
	res, err := h.svc.Users.List(ctx, c.Org, resources.Query{Filter: f, StartIndex: 1, Count: candidatesShown})
	if err != nil {
		return nil, 0, err
	}
	out := make([]candidate, 0, len(res.Resources))
	for _, u := range res.Resources {
		if err := u.DecodeAttributes(); err != nil {
			return nil, 0, err
		}
		cd := candidate{ID: u.ID, Href: c.url("users/" + url.PathEscape(u.ID)), Name: candidateName(u.Attributes)}
		cd.UserName, _ = u.Attributes["userName"].(string)
		cd.Member = slices.ContainsFunc(u.Groups, func(g resources.Ref) bool { return g.ID == groupID })
		out = append(out, cd)
	}
	return out, res.Total, nil
}

// candidateName is a customer's first and last names, else their displayName.
func candidateName(attrs map[string]any) string {
	n, _ := attrs["name"].(map[string]any)
	given, _ := n["givenName"].(string)
	family, _ := n["familyName"].(string)
	if s := strings.TrimSpace(given + " " + family); s != "" {
		return s
	}
	s, _ := attrs["displayName"].(string)
	return s
}

// memberValues is the value of a PATCH operation on members naming ids.
func memberValues(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}

// membersReturn is the members tab the forms go back to: the page, the
// filter and the search they were sent from.
func membersReturn(r *http.Request, id string) (path string, at membersAt) {
	at = readMembersAt(r.PostForm)
	path = groupPath(id, "members")
	if v := at.values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	return path, at
}

// addGroupMembers adds the customers ticked in the search results.
func (h *Handler) addGroupMembers(w http.ResponseWriter, r *http.Request, c *call) {
	ctx, id := r.Context(), r.PathValue("id")
	_, at := membersReturn(r, id)
	var ids []string
	for _, uid := range r.PostForm["user"] {
		if uid != "" && !slices.Contains(ids, uid) {
			ids = append(ids, uid)
		}
		if len(ids) > maxMembersAdded {
			break
		}
	}
	refuse := func(status int, text string) {
		h.showMembers(w, r, c, status, view{Problems: []problem{{Field: "q", Text: text}}}, at)
	}
	switch {
	case len(ids) == 0:
		refuse(http.StatusUnprocessableEntity, "Select at least one customer to add. Nothing was changed.")
		return
	case len(ids) > maxMembersAdded:
		refuse(http.StatusUnprocessableEntity, "Add at most "+strconv.Itoa(maxMembersAdded)+" customers at once. Nothing was changed.")
		return
	}
	g, err := h.svc.Groups.Get(ctx, c.Org, id, false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	_, err = h.svc.Groups.Patch(ctx, c.Org, id, []resources.PatchOp{{Op: "add", Path: "members", Value: memberValues(ids), HasValue: true}}, 0)
	if resources.ErrorCode(err) == resources.InvalidValue {
		// A customer deleted since the search, or an id from elsewhere.
		refuse(http.StatusUnprocessableEntity, "A selected customer no longer exists (deleted since the search?). Nothing was changed: search again.")
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	what := strconv.Itoa(len(ids)) + " customers"
	if len(ids) == 1 {
		what = "1 customer"
	}
	// The members tab's first page, the search done.
	h.redirect(w, r, c, groupPath(id, "members"), "Added "+what+" to “"+groupName(g)+"”.")
}

// removeGroupMember removes one customer from the group; the customer is
// not otherwise changed.
func (h *Handler) removeGroupMember(w http.ResponseWriter, r *http.Request, c *call) {
	ctx, id := r.Context(), r.PathValue("id")
	back, _ := membersReturn(r, id)
	uid := r.PostFormValue("user")
	if uid == "" {
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"The form named no customer, and nothing was changed. Go back, reload the page and try again."}, nil)
		return
	}
	g, err := h.svc.Groups.Get(ctx, c.Org, id, false)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	who := "the customer"
	u, err := h.svc.Users.Get(ctx, c.Org, uid)
	switch {
	case resources.ErrorCode(err) == resources.NotFound:
		// Not a customer of this organization (any more): so not a member.
		h.redirect(w, r, c, back, "That customer is not in “"+groupName(g)+"”: nothing to remove.")
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	if u.DecodeAttributes() == nil {
		if s, _ := u.Attributes["userName"].(string); s != "" {
			who = s
		}
	}
	if !slices.ContainsFunc(u.Groups, func(m resources.Ref) bool { return m.ID == id }) {
		h.redirect(w, r, c, back, who+" is not in “"+groupName(g)+"”: nothing to remove.")
		return
	}
	_, err = h.svc.Groups.Patch(ctx, c.Org, id, []resources.PatchOp{{Op: "remove", Path: "members", Value: memberValues([]string{uid}), HasValue: true}}, 0)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, back, "Removed "+who+" from “"+groupName(g)+"”. The customer was not otherwise changed.")
}
