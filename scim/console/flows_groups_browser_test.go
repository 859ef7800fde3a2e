package console_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestFlowsGroupsBrowser walks Groups in Chromium as an owner and as a
// collaborator, on both stores: the list's search, creating a group and
// refusing a duplicate name (ignoring case) and an empty one, the members
// tab (customers found and added, one removed, a large group paged), a
// rename and a rename to a taken name, and the deletion refusing a wrong
// typed name.
func TestFlowsGroupsBrowser(t *testing.T) { inBrowser(t, walkGroups) }

func walkGroups(t *testing.T, b *tab) {
	e, p := b.e, string(b.role)
	var big []string
	for i := range 51 {
		big = append(big, e.plainCustomer(fmt.Sprintf("%s.m%02d@example.com", p, i)))
	}
	bigID := e.createGroup(p+" big", big...)
	var team string

	t.Run("search and create", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("groups")
		b.fill("q", p+" b")
		b.submit("search groups", `form[role=search] button[type=submit]`)
		if rows := b.texts("tbody tr td:first-child"); !slices.Equal(rows, []string{p + " big"}) {
			t.Errorf("groups starting with %q: %q", p+" b", rows)
		}

		before := e.groupCount()
		b.fill("displayName", p+" team")
		b.submit("create a group", `form.new-group button[type=submit]`)
		team = idFromURL(t, b.path())
		b.shows(".flash", p+" team")
		if g := e.groupNamed(p + " team"); g == nil || g["id"] != team {
			t.Fatalf("after creating: the store has %v, want the group %s", g, team)
		}

		for _, bad := range []struct{ name, want string }{
			{strings.ToUpper(p + " team"), "already exists"},
			{"   ", "Enter the group"},
		} {
			b.open("groups")
			b.fill("displayName", bad.name)
			b.submit("create "+bad.name, `form.new-group button[type=submit]`)
			b.errorShown("displayName", bad.want)
			if v := b.value("displayName"); v != strings.TrimSpace(bad.name) {
				t.Errorf("the refused name %q comes back as %q", bad.name, v)
			}
		}
		if got := e.groupCount(); got != before+1 {
			t.Errorf("%d groups after one created and two refused, want %d", got, before+1)
		}
	})
	if team == "" {
		t.Fatal("no group to go on with")
	}

	t.Run("members", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("groups/" + team + "/members")
		b.fill("q", p+".m0")
		b.submit("find customers", `form#add button[type=submit]`)
		if n := b.count("#candidates input[type=checkbox]"); n != 10 {
			t.Errorf("%d customers found for %s.m0, want 10", n, p)
		}
		b.click("#add-" + big[0])
		b.click("#add-" + big[1])
		b.submit("add two customers", `#candidates + button[type=submit]`)
		b.shows(".flash", "Added 2 customers")
		if ms := e.members(team); len(ms) != 2 || !slices.Contains(ms, big[0]) || !slices.Contains(ms, big[1]) {
			t.Errorf("after adding: members %v, want %s.m00 and m01", ms, p)
		}
		b.submit("remove a member", `td.row-action form:has(input[name=user][value="`+big[0]+`"]) button`)
		b.shows(".flash", p+".m00@example.com")
		if ms := e.members(team); !slices.Equal(ms, []string{big[1]}) {
			t.Errorf("after removing: members %v, want %s.m01 only", ms, p)
		}
		if gs := e.userGroups(big[0]); !slices.Equal(gs, []string{bigID}) {
			t.Errorf("the removed customer's groups: %v, want %s big only (and the customer kept)", gs, p)
		}
		if s := b.text("table.members"); strings.Contains(s, p+".m00@") || !strings.Contains(s, p+".m01@") {
			t.Errorf("members shown after removing: %q", s)
		}
	})

	t.Run("members paged", func(t *testing.T) {
		b := b.on(t)
		b.open("groups/" + bigID + "/members")
		b.shows("nav.pager", "1–50 of 51")
		rows := b.texts("table.members tbody tr td:first-child")
		if len(rows) != 50 || rows[0] != p+".m00@example.com" || rows[49] != p+".m49@example.com" {
			t.Errorf("the first page of members: %d from %q, want m00 to m49", len(rows), rows)
		}
		b.submit("the next page of members", `a[rel="next"]`)
		b.shows("nav.pager", "51–51 of 51")
		if rows := b.texts("table.members tbody tr td:first-child"); !slices.Equal(rows, []string{p + ".m50@example.com"}) {
			t.Errorf("the second page of members: %q, want m50 only", rows)
		}
		b.submit("the previous page of members", `a[rel="prev"]`)
		if n := b.count("table.members tbody tr"); n != 50 {
			t.Errorf("back on the first page: %d members shown, want 50", n)
		}
	})

	t.Run("rename", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		rename := `main form[method=post] button[type=submit]`
		b.open("groups/" + team)
		b.fill("displayName", p+" crew")
		b.submit("rename", rename)
		b.shows("h1", p+" crew")
		if g := e.groupNamed(p + " crew"); g == nil || g["id"] != team {
			t.Errorf("after renaming: the store has %v", g)
		}
		b.fill("displayName", strings.ToUpper(p+" big"))
		b.submit("rename to a taken name", rename)
		b.errorShown("displayName", "already exists")
		if _, name := e.groupAttr(team, "displayName"); name != p+" crew" {
			t.Errorf("after a refused rename the group is named %v", name)
		}
	})

	t.Run("delete", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("groups/" + team)
		b.submit("the deletion page", `a.button.danger`)
		b.fill("confirm", strings.ToUpper(p+" crew"))
		b.submit("a wrong name", `main button.danger`)
		b.errorShown("confirm", p+" crew")
		if status, _ := e.groupAttr(team, "displayName"); status != http.StatusOK {
			t.Fatalf("a wrong typed name deleted the group: GET = %d", status)
		}
		b.fill("confirm", p+" crew")
		b.submit("the right name", `main button.danger`)
		b.shows(".flash", p+" crew")
		if status, _ := e.groupAttr(team, "displayName"); status != http.StatusNotFound {
			t.Errorf("after deleting: GET /Groups/%s = %d, want 404", team, status)
		}
		if gs := e.userGroups(big[1]); !slices.Equal(gs, []string{bigID}) {
			t.Errorf("after deleting: a former member's groups %v, want %s big only", gs, p)
		}
	})
}
