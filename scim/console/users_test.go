package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/webtest"
)

// roles are the administrators who manage customers: both may.
var roles = []resources.Role{resources.RoleOwner, resources.RoleCollaborator}

// asEach runs fn on each store (stores) as an owner and as a collaborator
// of acme.
func asEach(t *testing.T, fn func(t *testing.T, e *env, b *browser)) {
	t.Helper()
	stores(t, func(t *testing.T, e *env) {
		for _, role := range roles {
			t.Run(string(role), func(t *testing.T) {
				fn(t, e, e.admin(string(role)+"-"+strconv.Itoa(int(time.Now().UnixNano()%1e9))+"@acme.com", role))
			})
		}
	})
}

// user returns acme's user id as the SCIM API has it, or nil if it has
// none.
func (e *env) user(id string) map[string]any {
	e.t.Helper()
	status, body := e.scim("GET", "/Users/"+id, nil)
	switch status {
	case http.StatusOK:
		return body
	case http.StatusNotFound:
		return nil
	}
	e.t.Fatalf("GET /Users/%s = %d %v", id, status, body)
	return nil
}

// userCount is the number of acme's customers.
func (e *env) userCount() int {
	e.t.Helper()
	status, body := e.scim("GET", "/Users?count=0", nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Users = %d %v", status, body)
	}
	n, _ := body["totalResults"].(float64)
	return int(n)
}

// userByName returns the id of acme's customer userName, "" if none.
func (e *env) userByName(userName string) string {
	e.t.Helper()
	status, body := e.scim("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Users?filter = %d %v", status, body)
	}
	rs, _ := body["Resources"].([]any)
	if len(rs) == 0 {
		return ""
	}
	id, _ := rs[0].(map[string]any)["id"].(string)
	return id
}

// members returns the ids of acme's group id's members.
func (e *env) members(id string) []string {
	e.t.Helper()
	status, body := e.scim("GET", "/Groups/"+id, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /Groups/%s = %d %v", id, status, body)
	}
	var ids []string
	ms, _ := body["members"].([]any)
	for _, m := range ms {
		v, _ := m.(map[string]any)["value"].(string)
		ids = append(ids, v)
	}
	return ids
}

// customerExt returns the customer extension of a SCIM user.
func customerExt(u map[string]any) map[string]any {
	m, _ := u[schemas.CustomerUserURN].(map[string]any)
	return m
}

func names(u map[string]any) (given, family string) {
	n, _ := u["name"].(map[string]any)
	given, _ = n["givenName"].(string)
	family, _ = n["familyName"].(string)
	return given, family
}

// idInURL returns the customer id in a console page's address.
func idInURL(t *testing.T, u string) string {
	t.Helper()
	m := regexp.MustCompile(`/console/users/([^/?]+)`).FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("no customer id in %s", u)
	}
	return m[1]
}

func TestUsersList(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		var ids []string
		for i := range 27 {
			ids = append(ids, e.createCustomer(fmt.Sprintf("user%02d@example.com", i), "Given"+strconv.Itoa(i), "Family"))
			time.Sleep(2 * time.Millisecond) // distinct creation times
		}
		jane := e.createCustomer("jane.doe@example.com", "Jane", "Doe")
		g := e.createGroup("Readers", jane)
		e.createGroup("Writers", jane)
		if st, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN, schemas.CustomerUserURN}, "userName": "invited@example.com",
			schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"}}); st != http.StatusCreated {
			t.Fatalf("POST /Users invited = %d %v", st, body)
		}
		if st, body := e.scim("PATCH", "/Users/"+ids[0], map[string]any{"schemas": []string{schemas.PatchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}); st != http.StatusOK {
			t.Fatalf("PATCH active = %d %v", st, body)
		}
		_ = g
		for _, role := range roles {
			t.Run(string(role), func(t *testing.T) {
				b := e.admin(string(role)+"@acme.com", role)
				p := b.Get(b.console("users")).Must(t, http.StatusOK, "New customer", "1–25 of 29", "Page 1 of 2",
					`href="/t/acme/console/users/`+jane+`">jane.doe@example.com</a>`, "Jane Doe", "Must change password", "Invited",
					`href="/t/acme/console/users/new"`, time.Now().UTC().Format("2 Jan 2006"))
				// Newest first: the invited customer, then Jane, ..., the first
				// ones on page 2.
				if i, j := strings.Index(p.Body, "invited@example.com"), strings.Index(p.Body, "jane.doe@example.com"); i < 0 || j < 0 || i > j {
					t.Errorf("users list: invited@ at %d, jane.doe@ at %d; want the newest first", i, j)
				}
				p.Lacks(t, "user00@example.com", "user01@example.com")
				// Jane's row: two groups.
				if !regexp.MustCompile(`jane\.doe@example\.com</a></td>\s*<td data-label="Name">Jane Doe</td>\s*<td class="state" data-label="State">Must change password</td>\s*<td class="groups" data-label="Groups">2</td>`).MatchString(p.Body) {
					t.Errorf("Jane's row lacks her state and group count:\n%s", p.Body)
				}
				p2 := b.Get(b.console("users?page=2")).Must(t, http.StatusOK, "26–29 of 29", "user00@example.com", "user01@example.com", `rel="prev"`)
				if !regexp.MustCompile(`user00@example\.com</a></td>\s*<td data-label="Name">Given0 Family</td>\s*<td class="state" data-label="State">Disabled</td>`).MatchString(p2.Body) {
					t.Errorf("a disabled customer's row does not say Disabled:\n%s", p2.Body)
				}
				b.Get(b.console("users?page=99")).Must(t, http.StatusOK, "no customers on this page")
			})
		}
		b := e.admin("searcher@acme.com", resources.RoleCollaborator)
		for _, tc := range []struct {
			q          string
			want, lack []string
		}{
			{"jane", []string{"jane.doe@example.com", "1 in all"}, []string{"user00@"}},
			{"JANE.D", []string{"jane.doe@example.com"}, nil},
			{"doe", []string{"jane.doe@example.com"}, []string{"user00@"}},
			{"Given1", []string{"user01@example.com", "user10@example.com", "user19@example.com", "11 in all"}, []string{"user02@", "jane.doe"}},
			{"jane d", []string{"jane.doe@example.com"}, nil},
			{"family", []string{"1–25 of 27", "Page 1 of 2"}, []string{"jane.doe"}},
			{"user2", []string{"user20@example.com", "user26@example.com", "7 in all"}, []string{"user19@"}},
			{`nobody") or (userName pr`, []string{"No customers match", "nobody&#34;) or (userName pr"}, []string{"jane.doe"}},
			{`a\"b`, []string{"No customers match"}, nil},
			{"  jane   ", []string{"jane.doe@example.com", `value="jane"`}, nil},
		} {
			p := b.Get(b.console("users?q="+url.QueryEscape(tc.q))).Must(t, http.StatusOK, tc.want...)
			p.Lacks(t, tc.lack...)
		}
		// Paging keeps the search.
		b.Get(b.console("users?q=family")).Must(t, http.StatusOK, `href="?q=family&amp;page=2"`)
		// Search results are newest first too, across pages.
		p := b.Get(b.console("users?q=family")).Lacks(t, "user00@", "user01@")
		if i, j := strings.Index(p.Body, "user26@"), strings.Index(p.Body, "user02@"); i < 0 || j < 0 || i > j {
			t.Errorf("search results: user26@ at %d, user02@ at %d; want the newest first", i, j)
		}
		p = b.Get(b.console("users?q=family&page=2")).Must(t, http.StatusOK, "26–27 of 27", "user00@", "user01@")
		if i, j := strings.Index(p.Body, "user01@"), strings.Index(p.Body, "user00@"); i > j {
			t.Errorf("search page 2: user01@ at %d, user00@ at %d; want the newest first", i, j)
		}
		b.Get(b.console("users?q=family&page=3")).Must(t, http.StatusOK, "no customers on this page")
	})
}

// TestUsersListManyGroups: the customers list shows a page of 25 whatever
// groups they are in (each customer's are bounded); the API's bound on a
// list's groups in all, for pages of up to 1,000 users, is not the page's.
// The list failed, saying "Too many customers match", once its customers
// were in more than 10,000 groups in all.
func TestUsersListManyGroups(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		store := webtest.Store(t, redisURL)
		store.MaxListMembers = 3
		e := wireEnv(t, store)
		ann := e.createCustomer("ann@example.com", "Ann", "Aa")
		bob := e.createCustomer("bob@example.com", "Bob", "Bb")
		e.createGroup("One", ann, bob)
		e.createGroup("Two", ann, bob)
		b := e.admin("owner@acme.com", resources.RoleOwner)
		twoGroups := regexp.MustCompile(`<td class="groups" data-label="Groups">2</td>`)
		for _, tc := range []struct {
			page string
			rows int
		}{{"users", 2}, {"users?q=b", 1}} {
			p := b.Get(b.console(tc.page)).Must(t, http.StatusOK, "bob@example.com")
			if n := len(twoGroups.FindAllString(p.Body, -1)); n != tc.rows {
				t.Errorf("%s: %d rows show two groups, want %d:\n%s", tc.page, n, tc.rows, p.Body)
			}
		}
		if st, body := e.scim("GET", "/Users", nil); st != http.StatusBadRequest || body["scimType"] != "tooMany" {
			t.Errorf("GET /Users = %d %v, want 400 tooMany (the API's bound)", st, body)
		}
	})
}

// newUserForm is step 1 of the wizard as filled in.
func newUserForm(email, given, family, method, password string) url.Values {
	return url.Values{"email": {email}, "givenName": {given}, "familyName": {family}, "method": {method}, "password": {password}}
}

const tempPassword = "violet-harbor-cactus-42"

func TestUsersNewInvite(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		n := strconv.Itoa(e.userCount())
		readers, writers := e.createGroup("Readers "+n), e.createGroup("Writers "+n)
		email := "new." + n + "@example.com"
		p := b.Get(b.console("users/new")).Must(t, http.StatusOK, "Email (username)", "can never be changed", "First name", "Last name",
			"Select the method to set the user password", "Invite user to set their own password", "Set a temporary password",
			`class="secret"`, "Next")
		if a, c := regexp.MustCompile(`class="secret">([^<]+)<`).FindStringSubmatch(p.Body), regexp.MustCompile(`class="secret">([^<]+)<`).FindStringSubmatch(b.Get(b.console("users/new")).Body); a == nil || c == nil || a[1] == c[1] {
			t.Errorf("password suggestions %v and %v: want a new one for each page", a, c)
		}
		mails := len(e.mail.Messages())
		p = b.submit("users/new", newUserForm(email, "Ada", "Lovelace", "invite", ""))
		p.Must(t, http.StatusOK, "Customer created. Invitation sent to "+email+".", "Step 2 of 2", "Readers "+n, "Writers "+n, "Finish")
		id := idInURL(t, p.URL)
		if !strings.HasSuffix(p.URL, "/users/"+id+"/new-groups") {
			t.Errorf("after step 1: at %s, want step 2", p.URL)
		}
		u := e.user(id)
		if u == nil {
			t.Fatalf("no user %s after step 1", id)
		}
		if g, f := names(u); g != "Ada" || f != "Lovelace" || u["userName"] != email {
			t.Errorf("created user %v: want Ada Lovelace %s", u, email)
		}
		if ext := customerExt(u); ext["passwordSetup"] != "invite" || ext["accountState"] != "pendingInvitation" {
			t.Errorf("created user's extension %v: want invite, pendingInvitation", ext)
		}
		if msgs := e.mail.Messages(); len(msgs) != mails+1 || msgs[len(msgs)-1].To != email {
			t.Errorf("after step 1: %d messages (last to %v), want one invitation to %s", len(msgs)-mails, e.mail.Last(t).To, email)
		}
		// Step 2: Finish with both groups checked.
		p = b.submit("users/"+id+"/new-groups", url.Values{"group": {readers, writers}, "then": {"finish"}})
		p.Must(t, http.StatusOK, "Invitation sent to "+email+". Added to the groups Readers "+n+" and Writers "+n+".", "Save name")
		if !strings.HasSuffix(p.URL, "/users/"+id) {
			t.Errorf("after Finish: at %s, want the customer's page", p.URL)
		}
		for _, g := range []string{readers, writers} {
			if ms := e.members(g); !slices.Contains(ms, id) {
				t.Errorf("group %s members %v: want %s", g, ms, id)
			}
		}
		if log := e.changeLog(id); len(log) == 0 || !strings.HasPrefix(log[0], "admin:") || !strings.HasSuffix(log[0], " create") {
			t.Errorf("change log of %s = %v: want a create by the administrator first", id, log)
		}
		p.Lacks(t, "token=")
	})
}

func TestUsersNewTemporaryPassword(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		email := "temp." + strconv.Itoa(e.userCount()) + "@example.com"
		mails := len(e.mail.Messages())
		p := b.submit("users/new", newUserForm(email, "Alan", "Turing", "temporaryPassword", tempPassword))
		p.Must(t, http.StatusOK, "Customer created. Temporary password set; the customer must change it at first sign-in.", "Step 2 of 2")
		p.Lacks(t, tempPassword)
		id := idInURL(t, p.URL)
		// Finish without a group.
		p = b.submit("users/"+id+"/new-groups", url.Values{"then": {"finish"}})
		p.Must(t, http.StatusOK, "Temporary password set; the customer must change it at first sign-in. No groups assigned.", "Must change password", "Send a password reset link")
		p.Lacks(t, tempPassword)
		if ext := customerExt(e.user(id)); ext["passwordSetup"] != "temporaryPassword" || ext["accountState"] != "passwordChangeRequired" {
			t.Errorf("created user's extension %v: want temporaryPassword, passwordChangeRequired", ext)
		}
		if n := len(e.mail.Messages()); n != mails {
			t.Errorf("%d messages sent for a temporary password, want none", n-mails)
		}
		// The customer signs in with it: the customer pages ask for a new one.
		c := e.browser()
		c.Post("/t/acme/accounts/login", url.Values{"email": {email}, "password": {tempPassword}, "csrf": {c.Get("/t/acme/accounts/login").Hidden(t, "csrf")}}).
			Must(t, http.StatusOK, "Choose a new password")
		if strings.Contains(e.logs.String(), tempPassword) {
			t.Errorf("the logs hold the temporary password")
		}
	})
}

func TestUsersNewBadInput(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		taken := "taken." + string(b.org) + strconv.Itoa(e.userCount()) + "@example.com"
		e.createCustomer(taken, "Taken", "Already")
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			want   []string
		}{
			{"taken email", newUserForm(taken, "Ada", "Byron", "invite", ""), http.StatusConflict,
				[]string{"A customer with this email address already exists", `value="` + taken + `"`, `href="#email"`}},
			{"taken email in another case", newUserForm(strings.ToUpper(taken), "Ada", "Byron", "temporaryPassword", tempPassword), http.StatusConflict,
				[]string{"already exists", `value="` + strings.ToUpper(taken) + `"`}},
			{"invalid email", newUserForm("ada at example", "Ada", "Byron", "invite", ""), http.StatusBadRequest,
				[]string{"Enter an email address such as jane@example.com.", `value="ada at example"`, `value="Byron"`}},
			{"email with a display name", newUserForm("Ada <ada@example.com>", "Ada", "Byron", "invite", ""), http.StatusBadRequest,
				[]string{"Enter an email address such as"}},
			{"no email", newUserForm("", "Ada", "Byron", "invite", ""), http.StatusBadRequest, []string{"Enter the customer&#39;s email address."}},
			{"weak password", newUserForm("ada.weak@example.com", "Ada", "Byron", "temporaryPassword", "password123"), http.StatusBadRequest,
				[]string{"The password is too easy to guess", `value="ada.weak@example.com"`, `href="#password"`}},
			{"password is the email's name part", newUserForm("adabyron@example.com", "Ada", "Byron", "temporaryPassword", "adabyron"), http.StatusBadRequest,
				[]string{"The password must not be the account&#39;s email address or its name part."}},
			{"short password", newUserForm("ada.short@example.com", "Ada", "Byron", "temporaryPassword", "x7!k"), http.StatusBadRequest,
				[]string{"at least 8 characters"}},
			{"no password", newUserForm("ada.none@example.com", "Ada", "Byron", "temporaryPassword", ""), http.StatusBadRequest,
				[]string{"Enter a temporary password, or choose to invite the customer."}},
			{"no names", newUserForm("ada.names@example.com", "", " ", "invite", ""), http.StatusBadRequest,
				[]string{"Enter the first name.", "Enter the last name.", `href="#givenName"`, `href="#familyName"`}},
			{"no method", newUserForm("ada.method@example.com", "Ada", "Byron", "", ""), http.StatusBadRequest,
				[]string{"Choose how the customer sets their password."}},
			{"unknown method", newUserForm("ada.method@example.com", "Ada", "Byron", "magic", tempPassword), http.StatusBadRequest,
				[]string{"Choose how the customer sets their password."}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, mails := e.userCount(), len(e.mail.Messages())
				p := b.submit("users/new", tc.form).Must(t, tc.status, append(tc.want, "There is a problem", "New customer", "aria-invalid")...)
				if pw := tc.form.Get("password"); pw != "" {
					p.Lacks(t, `value="`+pw+`"`)
				}
				if strings.Contains(p.URL, "new-groups") {
					t.Errorf("moved on to %s", p.URL)
				}
				if after := e.userCount(); after != before {
					t.Errorf("customers: %d before, %d after; want nothing created", before, after)
				}
				if n := len(e.mail.Messages()); n != mails {
					t.Errorf("%d messages sent, want none", n-mails)
				}
			})
		}
		// A forged form without the session's token changes nothing.
		before := e.userCount()
		b.Post(b.console("users/new"), newUserForm("forged@example.com", "F", "G", "invite", "")).Must(t, http.StatusForbidden, "Form expired")
		if e.userCount() != before || e.userByName("forged@example.com") != "" {
			t.Errorf("a form without the CSRF token created a customer")
		}
	})
}

func TestUsersNewGroupsAllOrNothing(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@acme.com", resources.RoleOwner)
		readers, doomed := e.createGroup("Readers"), e.createGroup("Doomed")
		p := b.submit("users/new", newUserForm("all.or.nothing@example.com", "All", "Nothing", "invite", "")).Must(t, http.StatusOK, "Step 2 of 2")
		id := idInURL(t, p.URL)
		// Doomed is deleted while the page is open: Readers is added, then
		// Doomed fails, and Readers is undone.
		if st, body := e.scim("DELETE", "/Groups/"+doomed, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE /Groups = %d %v", st, body)
		}
		p = b.submit("users/"+id+"/new-groups", url.Values{"group": {readers, doomed}, "then": {"finish"}})
		p.Must(t, http.StatusConflict, "The customer was created, but no groups were added: one of the selected groups no longer exists", "Step 2 of 2")
		if ms := e.members(readers); len(ms) != 0 {
			t.Errorf("Readers members %v after a failed Finish: want none", ms)
		}
		if u := e.user(id); u == nil || u["groups"] != nil {
			t.Errorf("user after a failed Finish: %v, want it in no group", u)
		}
		// "Add selected and keep searching" stays on step 2, search kept.
		p = b.submit("users/"+id+"/new-groups", url.Values{"group": {readers}, "then": {"more"}, "q": {"Rea"}})
		p.Must(t, http.StatusOK, "Added to the group Readers.", "Step 2 of 2", `value="Rea"`, "already assigned")
		if !slices.Contains(e.members(readers), id) {
			t.Errorf("Readers lacks the customer after Add")
		}
		// The picker's search and paging.
		for i := range 25 {
			e.createGroup(fmt.Sprintf("Team %02d", i))
		}
		b.Get(b.console("users/"+id+"/new-groups")).Must(t, http.StatusOK, "1–20 of 26", "Page 1 of 2", "Readers")
		b.Get(b.console("users/"+id+"/new-groups?q=team+2")).Must(t, http.StatusOK, "Team 20", "Team 24", "5 in all").Lacks(t, "Team 19", "Team 02")
		b.Get(b.console("users/"+id+"/new-groups?page=2")).Must(t, http.StatusOK, "21–26 of 26", "Team 24")
	})
}

func TestUserEdit(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		id := e.createCustomer("grace."+strconv.Itoa(e.userCount())+"@example.com", "Grace", "Hopper")
		p := b.Get(b.console("users/"+id)).Must(t, http.StatusOK, "Grace Hopper", "Must change password", `value="Grace"`, `value="Hopper"`, "Save name", "Delete")
		version := p.Hidden(t, "version")
		// Saved.
		p = b.submit("users/"+id, url.Values{"version": {version}, "givenName": {" Amazing Grace "}, "familyName": {"Hopper-Murray"}})
		p.Must(t, http.StatusOK, "Name saved.", `value="Amazing Grace"`, "Amazing Grace Hopper-Murray")
		if g, f := names(e.user(id)); g != "Amazing Grace" || f != "Hopper-Murray" {
			t.Errorf("after saving: name %q %q", g, f)
		}
		// Stale: the form was filled before the save above.
		p = b.submit("users/"+id, url.Values{"version": {version}, "givenName": {"Old"}, "familyName": {"Form"}})
		p.Must(t, http.StatusConflict, "This customer was changed by someone else", "You had entered: first name “Old”, last name “Form”",
			`value="Amazing Grace"`, `value="Hopper-Murray"`)
		if g, f := names(e.user(id)); g != "Amazing Grace" || f != "Hopper-Murray" {
			t.Errorf("after a stale form: name %q %q, want it unchanged", g, f)
		}
		// Another administrator (here the API) changes the customer.
		current := p.Hidden(t, "version")
		e.scim("PATCH", "/Users/"+id, map[string]any{"schemas": []string{schemas.PatchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "path": "name.familyName", "value": "Hopper"}}})
		b.submit("users/"+id, url.Values{"version": {current}, "givenName": {"Mine"}, "familyName": {"Mine"}}).
			Must(t, http.StatusConflict, "changed by someone else", `value="Hopper"`)
		if g, f := names(e.user(id)); g != "Amazing Grace" || f != "Hopper" {
			t.Errorf("after a stale form: name %q %q, want the other change kept", g, f)
		}
		// Empty names: shown on the form, typed values kept, nothing changed.
		p = b.Get(b.console("users/" + id))
		p = b.submit("users/"+id, url.Values{"version": {p.Hidden(t, "version")}, "givenName": {""}, "familyName": {"Kept"}})
		p.Must(t, http.StatusBadRequest, "Enter the first name.", `value="Kept"`, `href="#givenName"`)
		if g, f := names(e.user(id)); g != "Amazing Grace" || f != "Hopper" {
			t.Errorf("after an empty name: %q %q, want unchanged", g, f)
		}
	})
}

func TestUserGroupsTab(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		id := e.createCustomer("groups."+strconv.Itoa(e.userCount())+"@example.com", "Group", "Tab")
		a, c := e.createGroup("Alpha "+b.csrf[:6]), e.createGroup("Charlie "+b.csrf[:6])
		b.Get(b.console("users/"+id+"/groups")).Must(t, http.StatusOK, "is in no group", "Add to groups", "Alpha", "Charlie", "Add selected groups")
		b.submit("users/"+id+"/groups", url.Values{"group": {a, c}}).
			Must(t, http.StatusOK, "Added to the groups Alpha", "Remove<span class=\"visually-hidden\"> from Alpha", "Groups (2)")
		if !slices.Contains(e.members(a), id) || !slices.Contains(e.members(c), id) {
			t.Errorf("after adding: Alpha %v, Charlie %v; want %s in both", e.members(a), e.members(c), id)
		}
		b.submit("users/"+id+"/groups/remove", url.Values{"group": {a}}).Must(t, http.StatusOK, "Removed from the group Alpha", "Groups (1)")
		if slices.Contains(e.members(a), id) || !slices.Contains(e.members(c), id) {
			t.Errorf("after removing: Alpha %v, Charlie %v; want %s in Charlie only", e.members(a), e.members(c), id)
		}
		// Nothing selected: said so, nothing changed.
		b.submit("users/"+id+"/groups", nil).Must(t, http.StatusBadRequest, "Select at least one group to add.")
		// A group of another organization is no group here.
		other := otherGroup(t, e)
		b.submit("users/"+id+"/groups", url.Values{"group": {other}}).Must(t, http.StatusConflict, "No groups were added")
	})
}

// otherGroup creates a group of globex and returns its id.
func otherGroup(t *testing.T, e *env) string {
	t.Helper()
	status, body := e.scimAs(webtest.OtherToken, "POST", "/Groups", map[string]any{"schemas": []string{schemas.GroupURN}, "displayName": "Globex team " + strconv.Itoa(int(time.Now().UnixNano()))})
	if status != http.StatusCreated {
		t.Fatalf("POST globex /Groups = %d %v", status, body)
	}
	id, _ := body["id"].(string)
	return id
}

func TestUserAccountActions(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		id := e.createCustomer("actions."+strconv.Itoa(e.userCount())+"@example.com", "Act", "Ions")
		email := e.user(id)["userName"].(string)
		p := b.Get(b.console("users/"+id)).Must(t, http.StatusOK, "Disable", "Send a password reset link")
		version := regexp.MustCompile(`name="version" value="(\d+)">\s*<input type="hidden" name="active"`).FindStringSubmatch(p.Body)
		if version == nil {
			t.Fatalf("no version in the disable form:\n%s", p.Body)
		}
		p = b.submit("users/"+id+"/active", url.Values{"version": {version[1]}, "active": {"false"}})
		p.Must(t, http.StatusOK, email+" is disabled", "Disabled", "Enable")
		if e.user(id)["active"] != false {
			t.Errorf("after Disable: active %v", e.user(id)["active"])
		}
		// The old page's form is stale now.
		b.submit("users/"+id+"/active", url.Values{"version": {version[1]}, "active": {"false"}}).Must(t, http.StatusConflict, "changed by someone else", "Enable")
		p = b.Get(b.console("users/" + id))
		v := regexp.MustCompile(`name="version" value="(\d+)">\s*<input type="hidden" name="active"`).FindStringSubmatch(p.Body)
		b.submit("users/"+id+"/active", url.Values{"version": {v[1]}, "active": {"true"}}).Must(t, http.StatusOK, email+" is enabled")
		if e.user(id)["active"] != true {
			t.Errorf("after Enable: active %v", e.user(id)["active"])
		}
		// A password reset for a customer with a password.
		mails := len(e.mail.Messages())
		b.submit("users/"+id+"/invitation", nil).Must(t, http.StatusOK, "Password reset link sent to "+email)
		if msgs := e.mail.Messages(); len(msgs) != mails+1 || msgs[len(msgs)-1].To != email {
			t.Errorf("after a reset: %d new messages, want one to %s", len(msgs)-mails, email)
		}
		// An invitation resent.
		inv := b.submit("users/new", newUserForm("inv."+email, "In", "Vited", "invite", ""))
		iid := idInURL(t, inv.URL)
		b.Get(b.console("users/"+iid)).Must(t, http.StatusOK, "Resend the invitation", "Invited")
		b.submit("users/"+iid+"/invitation", nil).Must(t, http.StatusOK, "Invitation sent to inv."+email)
		// The mail server is down: said so.
		e.mail.SetFail(true)
		b.submit("users/"+iid+"/invitation", nil).Must(t, http.StatusServiceUnavailable, "could not be sent", "Invitation not delivered")
		e.mail.SetFail(false)
		if ext := customerExt(e.user(iid)); ext["accountState"] != "invitationNotDelivered" {
			t.Errorf("after a failed send: %v", ext)
		}
		b.Get(b.console("users?q=inv.")).Must(t, http.StatusOK, "Invitation not delivered")
	})
}

func TestUserDelete(t *testing.T) {
	asEach(t, func(t *testing.T, e *env, b *browser) {
		email := "Delete.Me" + strconv.Itoa(e.userCount()) + "@example.com"
		id := e.createCustomer(email, "Delete", "Me")
		e.createGroup("Doomed members "+b.csrf[:6], id)
		b.Get(b.console("users/"+id+"/delete")).Must(t, http.StatusOK, "irreversible", "Type the username "+email+" to confirm", "Confirm", "user-delete.js")
		// Exactly: not another case, nor with spaces around it.
		for _, typed := range []string{"", "someone@example.com", strings.ToLower(email), email + "x", " " + email + " "} {
			p := b.submit("users/"+id+"/delete", url.Values{"confirm": {typed}})
			p.Must(t, http.StatusBadRequest, "Type the username", email+" exactly", `href="#confirm"`)
			if e.user(id) == nil {
				t.Fatalf("deleted after typing %q", typed)
			}
		}
		p := b.submit("users/"+id+"/delete", url.Values{"confirm": {email}})
		p.Must(t, http.StatusOK, "Customer "+email+" was deleted.")
		if !strings.HasSuffix(p.URL, "/console/users") {
			t.Errorf("after deleting: at %s, want the list", p.URL)
		}
		if e.user(id) != nil {
			t.Errorf("customer %s still exists", id)
		}
		b.Get(b.console("users/"+id)).Must(t, http.StatusNotFound, "Customer not found")
		// The page's script is served from the console.
		js := b.Get(b.console("user-delete.js")).Must(t, http.StatusOK, "data-confirm")
		if ct := js.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("user-delete.js Content-Type %q", ct)
		}
	})
}

func TestUsersOtherOrganization(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("acme.only@example.com", "Acme", "Only")
		g := b2g(e)
		globex := e.adminOf("globex", "boss@globex.com", resources.RoleOwner)
		for _, path := range []string{"users/" + id, "users/" + id + "/groups", "users/" + id + "/delete", "users/" + id + "/new-groups"} {
			globex.Get(globex.console(path)).Must(t, http.StatusNotFound).Lacks(t, "acme.only@example.com")
		}
		globex.Get(globex.console("users")).Must(t, http.StatusOK).Lacks(t, "acme.only@example.com")
		globex.Get(globex.console("users?q=acme")).Must(t, http.StatusOK, "No customers match")
		v := e.user(id)["meta"].(map[string]any)["version"].(string)
		version := strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
		for path, form := range map[string]url.Values{
			"users/" + id:                    {"version": {version}, "givenName": {"Hacked"}, "familyName": {"Hacked"}},
			"users/" + id + "/active":        {"version": {version}, "active": {"false"}},
			"users/" + id + "/invitation":    nil,
			"users/" + id + "/groups":        {"group": {g}},
			"users/" + id + "/delete":        {"confirm": {"acme.only@example.com"}},
			"users/" + id + "/new-groups":    {"group": {g}, "then": {"finish"}},
			"users/" + id + "/groups/remove": {"group": {g}},
		} {
			globex.submit(path, form).Must(t, http.StatusNotFound)
		}
		u := e.user(id)
		if u == nil || u["active"] != true {
			t.Fatalf("acme's customer after globex's attempts: %v", u)
		}
		if gn, _ := names(u); gn != "Acme" {
			t.Errorf("acme's customer renamed by globex: %v", u)
		}
		if !slices.Contains(e.members(g), id) {
			t.Errorf("acme's group lost its member to globex")
		}
		// An acme session is no session at globex's console.
		acme := e.admin("boss@acme.com", resources.RoleOwner)
		p := acme.Get("/t/globex/console/users")
		if !strings.Contains(p.URL, "/t/globex/console/signin") {
			t.Errorf("an acme session at globex's console reached %s", p.URL)
		}
	})
}

// b2g creates an acme group holding acme's customer acme.only@.
func b2g(e *env) string {
	e.t.Helper()
	return e.createGroup("Acme only", e.userByName("acme.only@example.com"))
}
