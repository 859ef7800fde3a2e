package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/webtest"
)

// userGroups returns the ids of the groups of acme's customer id, as the
// SCIM API shows them.
func (e *env) userGroups(id string) []string {
	e.t.Helper()
	status, body := e.scim("GET", "/Users/"+id, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Users/%s = %d %v", id, status, body)
	}
	var ids []string
	gs, _ := body["groups"].([]any)
	for _, g := range gs {
		m, _ := g.(map[string]any)
		v, _ := m["value"].(string)
		ids = append(ids, v)
	}
	return ids
}

// plainCustomer creates a customer of acme with only a userName (no
// password to hash: quick) and returns its id.
func (e *env) plainCustomer(userName string) string {
	e.t.Helper()
	status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": userName})
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Users %s = %d %v", userName, status, body)
	}
	id, _ := body["id"].(string)
	return id
}

// groupNamed returns the SCIM representation of acme's group named name
// (ignoring case), nil when there is none.
func (e *env) groupNamed(name string) map[string]any {
	e.t.Helper()
	status, body := e.scim("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "`+name+`"`), nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Groups displayName eq %q = %d %v", name, status, body)
	}
	rs, _ := body["Resources"].([]any)
	switch len(rs) {
	case 0:
		return nil
	case 1:
		m, _ := rs[0].(map[string]any)
		return m
	}
	e.t.Fatalf("%d groups named %q", len(rs), name)
	return nil
}

// groupCount returns how many groups acme has.
func (e *env) groupCount() int {
	e.t.Helper()
	status, body := e.scim("GET", "/Groups?count=0", nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Groups?count=0 = %d %v", status, body)
	}
	n, _ := body["totalResults"].(float64)
	return int(n)
}

// groupAttr returns an attribute of acme's group id through SCIM, and the
// status of the read.
func (e *env) groupAttr(id, name string) (int, any) {
	e.t.Helper()
	status, body := e.scim("GET", "/Groups/"+id, nil)
	return status, body[name]
}

// groupIDInURL is the group id of a console group page's address.
var groupIDInURL = regexp.MustCompile(`/console/groups/([^/?#]+)`)

func idFromURL(t testing.TB, u string) string {
	t.Helper()
	m := groupIDInURL.FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("no group id in %s", u)
	}
	return m[1]
}

func TestGroupCreate(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		for _, role := range []resources.Role{resources.RoleOwner, resources.RoleCollaborator} {
			t.Run(string(role), func(t *testing.T) {
				b := e.admin(string(role)+"@acme.example", role)
				name := "Sales " + string(role)
				p := b.submit("groups", url.Values{"displayName": {"  " + name + " "}}).
					Must(t, http.StatusOK, "Group “"+name+"” created", "Add customers")
				id := idFromURL(t, p.URL)
				if !strings.HasSuffix(p.URL, "/groups/"+id+"/members") {
					t.Errorf("created group: landed on %s, want its members tab", p.URL)
				}
				if status, got := e.groupAttr(id, "displayName"); status != http.StatusOK || got != name {
					t.Errorf("GET /Groups/%s displayName = %d %v, want 200 %q", id, status, got, name)
				}
				if log := e.changeLog(id); len(log) != 1 || !strings.HasPrefix(log[0], "admin:") || !strings.HasSuffix(log[0], " create") {
					t.Errorf("change log of %s = %v, want one create by an administrator", id, log)
				}

				before := e.groupCount()
				// A taken name in another case: on the form, kept, nothing created.
				p = b.submit("groups", url.Values{"displayName": {strings.ToUpper(name)}}).
					Must(t, http.StatusConflict, "There is a problem", `href="#displayName"`, "already exists", `value="`+strings.ToUpper(name)+`"`, "aria-invalid")
				// A blank name.
				b.submit("groups", url.Values{"displayName": {"   "}}).Must(t, http.StatusUnprocessableEntity, "Enter the group&#39;s name.")
				// Too long.
				b.submit("groups", url.Values{"displayName": {strings.Repeat("x", 257)}}).Must(t, http.StatusUnprocessableEntity, "too long")
				if n := e.groupCount(); n != before {
					t.Errorf("refused creations: %d groups, want %d", n, before)
				}
			})
		}
	})
}

func TestGroupList(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		for i := range 30 {
			e.createGroup(fmt.Sprintf("team %02d", 29-i))
		}
		e.createGroup("Alpha")
		e.createGroup(`Quote "q" <b>`)
		b := e.admin("collab@acme.example", resources.RoleCollaborator)

		p := b.Get(b.console("groups")).Must(t, http.StatusOK, "1–25 of 32", `rel="next"`, "Alpha", "Quote &#34;q&#34; &lt;b&gt;", "team 00", "team 22")
		p.Lacks(t, "<b>", "team 23")
		if a, q := strings.Index(p.Body, "Alpha"), strings.Index(p.Body, "Quote"); a > q {
			t.Errorf("groups not by name: Alpha after Quote")
		}
		b.Get(b.console("groups?page=2")).Must(t, http.StatusOK, "26–32 of 32", "team 23", "team 29").Lacks(t, "Alpha")
		// Past the end: the last page.
		b.Get(b.console("groups?page=99")).Must(t, http.StatusOK, "26–32 of 32")

		// Prefix search on the name, ignoring case, kept across pages.
		p = b.Get(b.console("groups?q=TEAM+1")).Must(t, http.StatusOK, "team 10", "team 19", "10 in all").Lacks(t, "team 20", "Alpha")
		b.Get(b.console("groups?q=team")).Must(t, http.StatusOK, "1–25 of 30", `href="?q=team&amp;page=2"`)
		// Text that would change a filter stays text.
		b.Get(b.console("groups?q="+url.QueryEscape(`x" or displayName pr or displayName eq "`))).
			Must(t, http.StatusOK, "No group's name starts with").Lacks(t, "Alpha")
		b.Get(b.console("groups?q="+url.QueryEscape(`Quote "q`))).Must(t, http.StatusOK, "Quote &#34;q&#34;", "1 in all")
	})
}

func TestGroupRename(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createGroup("Support")
		e.createGroup("Billing")
		b := e.admin("collab@acme.example", resources.RoleCollaborator)
		p := b.Get(b.console("groups/"+id)).Must(t, http.StatusOK, "Support", "Rename group", "Delete group")
		version := p.Hidden(t, "version")

		p = b.submit("groups/"+id, url.Values{"displayName": {"Customer care"}, "version": {version}}).
			Must(t, http.StatusOK, "Group renamed to “Customer care”.")
		if status, got := e.groupAttr(id, "displayName"); status != http.StatusOK || got != "Customer care" {
			t.Fatalf("after rename: GET /Groups/%s displayName = %d %v", id, status, got)
		}
		version = p.Hidden(t, "version")

		// A taken name: on the form, nothing changed.
		b.submit("groups/"+id, url.Values{"displayName": {"billing"}, "version": {version}}).
			Must(t, http.StatusConflict, "already exists", `value="billing"`)
		b.submit("groups/"+id, url.Values{"displayName": {""}, "version": {version}}).Must(t, http.StatusUnprocessableEntity, "Enter the group")
		b.submit("groups/"+id, url.Values{"displayName": {"No version"}}).Must(t, http.StatusBadRequest, "nothing was changed")
		if _, got := e.groupAttr(id, "displayName"); got != "Customer care" {
			t.Fatalf("after refused renames: displayName %v", got)
		}

		// Someone else renames it meanwhile: the form says so and shows the
		// current name; the other change stands.
		status, body := e.scim("PATCH", "/Groups/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Helpdesk"}}})
		if status != http.StatusOK {
			t.Fatalf("PATCH /Groups/%s = %d %v", id, status, body)
		}
		p = b.submit("groups/"+id, url.Values{"displayName": {"Care team"}, "version": {version}}).
			Must(t, http.StatusPreconditionFailed, "changed by someone else", "“Care team” was not saved", `value="Helpdesk"`)
		if _, got := e.groupAttr(id, "displayName"); got != "Helpdesk" {
			t.Fatalf("after a stale rename: displayName %v, want Helpdesk", got)
		}
		// The page now holds the current version: renaming again works.
		b.submit("groups/"+id, url.Values{"displayName": {"Care team"}, "version": {p.Hidden(t, "version")}}).Must(t, http.StatusOK, "renamed")
		if _, got := e.groupAttr(id, "displayName"); got != "Care team" {
			t.Fatalf("after renaming again: displayName %v", got)
		}
	})
}

// scimAsGroups returns the group ids of globex's customer id.
func (e *env) scimAsGroups(id string) []any {
	e.t.Helper()
	status, body := e.scimAs(webtest.OtherToken, "GET", "/Users/"+id, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET globex /Users/%s = %d %v", id, status, body)
	}
	gs, _ := body["groups"].([]any)
	return gs
}

// hasRemove reports whether a members page has the remove button of the
// member id.
func hasRemove(p page, id string) bool {
	return strings.Contains(p.Body, `<input type="hidden" name="user" value="`+id+`">`)
}

func TestGroupMembers(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
		bob := e.createCustomer("bob@example.com", "Bob", "Adams")
		carl := e.createCustomer("carl@example.com", "Carl", "Zeiss")
		id := e.createGroup("Beta testers", carl)
		b := e.admin("owner@acme.example", resources.RoleOwner)

		p := b.Get(b.console("groups/"+id+"/members")).Must(t, http.StatusOK, "Members (1)", "carl@example.com", "Add customers")
		if !hasRemove(p, carl) {
			t.Errorf("members tab lacks a remove button for carl")
		}
		// Search by email, first name, last name, and first and last names.
		for q, want := range map[string][]string{
			"ada":                   {ada, bob}, // Ada's email and first name, Bob's last name
			"bob@":                  {bob},
			"lovelace":              {ada},
			"Ada Love":              {ada},
			"carl":                  {},
			"zz":                    {},
			`" or userName pr or "`: {},
		} {
			p := b.Get(b.console("groups/"+id+"/members?q="+url.QueryEscape(q))).Must(t, http.StatusOK)
			for _, u := range []string{ada, bob} {
				if got := strings.Contains(p.Body, `id="add-`+u+`"`); got != slices.Contains(want, u) {
					t.Errorf("search %q: offers %s: %v, want %v", q, u, got, !got)
				}
			}
		}
		b.Get(b.console("groups/"+id+"/members?q=carl")).Must(t, http.StatusOK, "already a member").Lacks(t, `id="add-`+carl+`"`, "Add selected customers")

		// Add two.
		p = b.submit("groups/"+id+"/members", url.Values{"user": {ada, bob}, "q": {"ada"}}).
			Must(t, http.StatusOK, "Added 2 customers to “Beta testers”.", "Members (3)")
		if !strings.HasSuffix(p.URL, "/groups/"+id+"/members") {
			t.Errorf("after adding: at %s, want the members tab", p.URL)
		}
		for _, u := range []string{ada, bob, carl} {
			if gs := e.userGroups(u); !slices.Equal(gs, []string{id}) {
				t.Errorf("after adding: groups of %s = %v, want [%s]", u, gs, id)
			}
		}
		// Nothing ticked; a customer of another organization; both change nothing.
		b.submit("groups/"+id+"/members", url.Values{"q": {"ada"}}).Must(t, http.StatusUnprocessableEntity, "Select at least one customer")
		status, body := e.scimAs(webtest.OtherToken, "POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "eve@globex.example"})
		if status != http.StatusCreated {
			t.Fatalf("POST globex user = %d %v", status, body)
		}
		eve, _ := body["id"].(string)
		b.submit("groups/"+id+"/members", url.Values{"user": {eve}}).Must(t, http.StatusUnprocessableEntity, "no longer exists", "Nothing was changed")
		b.submit("groups/"+id+"/members", url.Values{"user": {eve, ada}}).Must(t, http.StatusUnprocessableEntity)
		if _, members := e.groupAttr(id, "members"); len(members.([]any)) != 3 {
			t.Errorf("after refused adds: members %v, want 3", members)
		}
		if gs := e.scimAsGroups(eve); len(gs) != 0 {
			t.Errorf("after refused adds: globex's customer is in %v", gs)
		}

		// Remove one: the others stay, the customer stays.
		p = b.submit("groups/"+id+"/members/remove", url.Values{"user": {ada}}).
			Must(t, http.StatusOK, "Removed ada@example.com from “Beta testers”.", "Members (2)")
		if hasRemove(p, ada) {
			t.Errorf("ada still listed after removal")
		}
		if gs := e.userGroups(ada); len(gs) != 0 {
			t.Errorf("after removal: ada's groups = %v, want none", gs)
		}
		if gs := e.userGroups(bob); !slices.Equal(gs, []string{id}) {
			t.Errorf("after removing ada: bob's groups = %v", gs)
		}
		b.submit("groups/"+id+"/members/remove", url.Values{"user": {ada}}).Must(t, http.StatusOK, "ada@example.com is not in “Beta testers”")
		if log := e.changeLog(id); len(log) != 3 || !strings.HasPrefix(log[1], "admin:") || !strings.HasSuffix(log[2], " members") {
			t.Errorf("change log of the group = %v, want create, members, members by the administrator", log)
		}
	})
}

func TestGroupMembersPaging(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		var ids []string
		for i := range 60 {
			ids = append(ids, e.plainCustomer(fmt.Sprintf("m%02d@example.com", 59-i)))
		}
		id := e.createGroup("Big", ids...)
		b := e.admin("collab@acme.example", resources.RoleCollaborator)
		p := b.Get(b.console("groups/"+id+"/members")).Must(t, http.StatusOK, "Members (60)", "1–50 of 60", "m00@example.com", "m49@example.com")
		p.Lacks(t, "m50@example.com", `rel="prev"`)
		p = b.Get(p.Link(t, "next")).Must(t, http.StatusOK, "Members (60)", "51–60 of 60", "m50@example.com", "m59@example.com")
		p.Lacks(t, "m49@example.com", `rel="next"`)
		if back := b.Get(p.Link(t, "prev")).Must(t, http.StatusOK, "1–50 of 60", "m00@example.com", "m49@example.com"); strings.Contains(back.Body, "m50@example.com") {
			t.Errorf("Previous from the second page shows m50")
		}
		// Removing from page 2 comes back to page 2.
		after := p.Hidden(t, "after")
		p = b.submit("groups/"+id+"/members/remove", url.Values{"user": {ids[0]}, "after": {after}}).Must(t, http.StatusOK, "Removed m59@example.com", "51–59 of 59")
		if !strings.Contains(p.URL, "after="+url.QueryEscape(after)) {
			t.Errorf("after removal from page 2: at %s", p.URL)
		}
		// A filter by the start of the name, ignoring case; a key edited by
		// hand shows the first page.
		b.Get(b.console("groups/"+id+"/members?m=M1")).Must(t, http.StatusOK, "Members (59)", "10 in all", "m10@example.com", "m19@example.com").
			Lacks(t, "m09@example.com", "m20@example.com")
		b.Get(b.console("groups/"+id+"/members?m=zz")).Must(t, http.StatusOK, "name or email starts with “zz”")
		b.Get(b.console("groups/"+id+"/members?after=bogus")).Must(t, http.StatusOK, "1–50 of 59", "m00@example.com")
	})
}

func TestGroupDelete(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
		id := e.createGroup("Old Team", ada)
		b := e.admin("collab@acme.example", resources.RoleCollaborator)
		b.Get(b.console("groups/"+id+"/delete")).Must(t, http.StatusOK, "irreversible", "members are not deleted", "Type the group&#39;s name to confirm")

		for _, typed := range []string{"", "old team", "Old Team ", "Old"} {
			b.submit("groups/"+id+"/delete", url.Values{"confirm": {typed}}).
				Must(t, http.StatusUnprocessableEntity, "exactly as shown", "Nothing was deleted", `href="#confirm"`)
			if status, _ := e.groupAttr(id, "displayName"); status != http.StatusOK {
				t.Fatalf("after typing %q: GET /Groups/%s = %d, want it kept", typed, id, status)
			}
		}
		p := b.submit("groups/"+id+"/delete", url.Values{"confirm": {"Old Team"}}).Must(t, http.StatusOK, "Group “Old Team” deleted.", "Its members were not deleted")
		if !strings.HasSuffix(p.URL, "/console/groups") {
			t.Errorf("after deletion: at %s, want the groups list", p.URL)
		}
		if status, _ := e.groupAttr(id, "displayName"); status != http.StatusNotFound {
			t.Errorf("after deletion: GET /Groups/%s = %d, want 404", id, status)
		}
		if gs := e.userGroups(ada); len(gs) != 0 {
			t.Errorf("after deletion: the member's groups = %v, want none", gs)
		}
		if log := e.changeLog(id); len(log) != 2 || !strings.HasPrefix(log[1], "admin:") || !strings.HasSuffix(log[1], " delete") {
			t.Errorf("change log = %v, want the deletion by the administrator", log)
		}
		b.Get(b.console("groups/"+id)).Must(t, http.StatusNotFound)
		b.submit("groups/"+id+"/delete", url.Values{"confirm": {"Old Team"}}).Must(t, http.StatusNotFound)
	})
}

// TestGroupOtherOrganization: an administrator of globex reaches no group
// of acme, by any route, and changes nothing.
func TestGroupOtherOrganization(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
		id := e.createGroup("Acme only", ada)
		g := e.adminOf("globex", "boss@globex.example", resources.RoleOwner)
		for _, path := range []string{"groups/" + id, "groups/" + id + "/members", "groups/" + id + "/delete"} {
			g.Get(g.console(path)).Must(t, http.StatusNotFound).Lacks(t, "Acme only", "ada@example.com")
		}
		g.submit("groups/"+id, url.Values{"displayName": {"Taken over"}, "version": {"1"}}).Must(t, http.StatusNotFound)
		g.submit("groups/"+id+"/members/remove", url.Values{"user": {ada}}).Must(t, http.StatusNotFound)
		g.submit("groups/"+id+"/members", url.Values{"user": {ada}}).Must(t, http.StatusNotFound)
		g.submit("groups/"+id+"/delete", url.Values{"confirm": {"Acme only"}}).Must(t, http.StatusNotFound)
		g.Get(g.console("groups")).Must(t, http.StatusOK).Lacks(t, "Acme only")
		if status, name := e.groupAttr(id, "displayName"); status != http.StatusOK || name != "Acme only" {
			t.Errorf("acme's group after globex's attempts: %d %v", status, name)
		}
		if gs := e.userGroups(ada); !slices.Equal(gs, []string{id}) {
			t.Errorf("acme's member after globex's attempts: groups %v", gs)
		}
		// acme's session does not open globex's console.
		a := e.admin("owner@acme.example", resources.RoleOwner)
		p := a.Get("/t/globex/console/groups")
		if !strings.Contains(p.URL, "/t/globex/console/signin") {
			t.Errorf("acme's administrator at globex's groups: landed on %s, want the sign-in page", p.URL)
		}
	})
}

// TestGroupFormsNeedCSRF: every groups form without the session's token is
// refused with 403 and changes nothing.
func TestGroupFormsNeedCSRF(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
		bob := e.createCustomer("bob@example.com", "Bob", "Adams")
		id := e.createGroup("Guarded", ada)
		b := e.admin("owner@acme.example", resources.RoleOwner)
		for path, form := range map[string]url.Values{
			"groups":                           {"displayName": {"Forged"}},
			"groups/" + id:                     {"displayName": {"Forged"}, "version": {"1"}},
			"groups/" + id + "/members":        {"user": {bob}},
			"groups/" + id + "/members/remove": {"user": {ada}},
			"groups/" + id + "/delete":         {"confirm": {"Guarded"}},
		} {
			for _, token := range []string{"", "wrong-token"} {
				f := url.Values{"csrf": {token}}
				for k, v := range form {
					f[k] = v
				}
				b.Post(b.console(path), f).Must(t, http.StatusForbidden, "nothing was changed")
			}
		}
		if status, name := e.groupAttr(id, "displayName"); status != http.StatusOK || name != "Guarded" {
			t.Errorf("after forged forms: group %d %v", status, name)
		}
		if e.groupNamed("Forged") != nil {
			t.Errorf("a forged form created a group")
		}
		if gs := e.userGroups(ada); !slices.Equal(gs, []string{id}) {
			t.Errorf("after forged forms: ada's groups %v", gs)
		}
		if gs := e.userGroups(bob); len(gs) != 0 {
			t.Errorf("after forged forms: bob's groups %v", gs)
		}
		// Signed out: the forms ask to sign in and change nothing.
		anon := e.browser()
		anon.Post("/t/acme/console/groups/"+id+"/delete", url.Values{"confirm": {"Guarded"}}).Must(t, http.StatusUnauthorized)
		if status, _ := e.groupAttr(id, "displayName"); status != http.StatusOK {
			t.Errorf("a signed-out form deleted the group")
		}
	})
}
