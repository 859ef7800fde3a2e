package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestOrAcrossKeys: an "or" of different keys is a merge, whatever the
// number of its matches (MaxScan is small): branch by branch in the
// filter's order, each in its index's order, a user at the first branch it
// matches, with the exact total; the same by cursor, both ways.
func TestOrAcrossKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		type u struct{ id, userName, given, family string }
		var users []u
		for i := range 40 {
			// Created out of name order; givenName "A…" for i%3 == 0,
			// familyName "A…" for i%4 == 0: both for i%12 == 0.
			name := fmt.Sprintf("u%02d@x.io", (i*17)%40)
			given, family := fmt.Sprintf("B%02d", (i*7)%40), fmt.Sprintf("Z%02d", (i*11)%40)
			if i%3 == 0 {
				given = "A" + given
			}
			if i%4 == 0 {
				family = "A" + family
			}
			r := mustCreateUser(t, s, user(name, "externalId", fmt.Sprintf("E%d", i), "name", map[string]any{"givenName": given, "familyName": family}))
			users = append(users, u{r.ID, name, given, family})
		}
		s.MaxScan = 5
		ids := func(us []u) []string {
			out := make([]string, len(us))
			for i, x := range us {
				out[i] = x.id
			}
			return out
		}
		// The merge of name.givenName sw "A" or name.familyName sw "A".
		var byGiven, byFamily []u
		for _, x := range users {
			if strings.HasPrefix(x.given, "A") {
				byGiven = append(byGiven, x)
			} else if strings.HasPrefix(x.family, "A") {
				byFamily = append(byFamily, x)
			}
		}
		slices.SortFunc(byGiven, func(a, b u) int { return strings.Compare(strings.ToLower(a.given), strings.ToLower(b.given)) })
		slices.SortFunc(byFamily, func(a, b u) int { return strings.Compare(strings.ToLower(a.family), strings.ToLower(b.family)) })
		names := ids(append(slices.Clone(byGiven), byFamily...))
		if len(names) != 14+10-4 {
			t.Fatalf("the data: %d users match, want 20", len(names))
		}
		for _, tc := range []struct {
			filter       string
			start, count int
			total        int
			want         []string
		}{
			{`userName eq "` + users[5].userName + `" or externalId eq "E3"`, 1, 10, 2, []string{users[5].id, users[3].id}},
			{`externalId eq "E3" or userName eq "` + users[3].userName + `"`, 1, 10, 1, []string{users[3].id}},
			{`name.givenName sw "A" or name.familyName sw "A"`, 1, 100, 20, names},
			{`name.givenName sw "A" or name.familyName sw "A"`, 12, 5, 20, names[11:16]},
			{`name.givenName sw "A" or name.familyName sw "A"`, 19, 5, 20, names[18:]},
			{`name.givenName sw "A" or name.familyName sw "A"`, 21, 5, 20, nil},
			{`(name.givenName sw "A" or name.familyName sw "A") or externalId eq "E1"`, 20, 5, 21, []string{names[19], users[1].id}},
			// More ids than MaxScan to leave out by id: user 3, the 8th by
			// givenName, is left out by its document.
			{`externalId eq "E3" or name.givenName sw "A"`, 1, 100, 14, append([]string{users[3].id}, slices.DeleteFunc(ids(byGiven), func(id string) bool { return id == users[3].id })...)},
		} {
			total, got := filteredPage(t, s, tc.filter, tc.start, tc.count, func(r resources.Resource) string { return r.ID })
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Errorf("ListUsers(%s, start %d, count %d) = total %d, %v; want %d, %v", tc.filter, tc.start, tc.count, total, got, tc.total, tc.want)
			}
		}
		e, err := resources.ParseFilter(schemas.Users(), `name.givenName sw "A" or name.familyName sw "A"`, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 3, 7, 30} {
			forward, backward := seekWalk(t, s, resources.Query{Filter: e}, size, len(names))
			if !slices.Equal(forward, names) || !slices.Equal(backward, names) {
				t.Errorf("cursor walk by %d = %v\nback %v\nwant %v", size, forward, backward, names)
			}
		}
		// A cursor in creation order, as the collecting plan minted before
		// the merge answered the filter, still pages in creation order.
		s.MaxScan = DefaultMaxScan
		var created []string
		for _, x := range users {
			if slices.Contains(names, x.id) {
				created = append(created, x.id)
			}
		}
		first, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, Count: 3, Seek: &resources.Seek{ByCreation: true}})
		if err != nil || len(first.Positions) != 3 {
			t.Fatalf("ListUsers(%v, by creation) = %d positions, %v", e, len(first.Positions), err)
		}
		next, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, Count: 3, Seek: &resources.Seek{From: &first.Positions[2]}})
		if err != nil || next.Total != len(names) || len(next.Resources) != 3 || next.Resources[0].ID != created[3] {
			t.Errorf("ListUsers(%v) from a creation position = total %d, %d resources, %v; want %d, from %s", e, next.Total, len(next.Resources), err, len(names), created[3])
		}
	})
}

// TestCombinedWork: a merge is charged to MaxFilterWork, and the ids a
// complement leaves out are counted against MaxScan, before any document
// is read; past them, both answer TooMany saying what to send instead; eq
// or eq (as identity providers send) reads no document but the page's.
func TestCombinedWork(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 8 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i), "externalId", fmt.Sprintf("E%d", i)))
		}
		reads := &docReads{}
		s.client.AddHook(reads)
		s.MaxFilterWork = 7
		s.MaxScan = 7
		for _, tc := range []struct{ filter, says string }{
			// 8 + 8 × 2 evaluations
			{`userName sw "u" or externalId sw "E"`, "send each side as a query of its own"},
			// 8 users left out
			{`not (userName sw "u")`, `instead of "not"`},
		} {
			e, err := resources.ParseFilter(schemas.Users(), tc.filter, "")
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.filter, err)
			}
			for _, seek := range []*resources.Seek{nil, {}} {
				_, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10, Seek: seek})
				wantCode(t, "ListUsers("+tc.filter+")", err, resources.TooMany)
				if !strings.Contains(err.Error(), tc.says) {
					t.Errorf("ListUsers(%s) = %v, want it to say %q", tc.filter, err, tc.says)
				}
			}
		}
		if n := reads.n.Load(); n != 0 {
			t.Errorf("queries over the budget read documents %d times, want 0", n)
		}
		e, _ := resources.ParseFilter(schemas.Users(), `userName eq "u1@example.com" or externalId eq "E2"`, "")
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 10})
		if err != nil || page.Total != 2 {
			t.Fatalf("ListUsers(eq or eq) = total %d, %v; want 2", page.Total, err)
		}
		if n := reads.n.Load(); n != 1 {
			t.Errorf("eq or eq read documents %d times, want 1 (the page's)", n)
		}
	})
}

// TestMergeStopsWhenClientLeaves: a merge checking a branch's documents
// stops at the next batch once its context is done.
func TestMergeStopsWhenClientLeaves(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		for i := range scanBatch + 1 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i), "externalId", fmt.Sprintf("E%d", i)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reads := &docReads{after: cancel}
		s.client.AddHook(reads)
		e, _ := resources.ParseFilter(schemas.Users(), `userName eq "nobody@example.com" or (externalId sw "E" and title pr)`, "")
		_, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ListUsers after the client left = %v, want context.Canceled", err)
		}
		if n := reads.n.Load(); n != 1 {
			t.Errorf("the merge read documents %d times after the client left at the first, want 1", n)
		}
	})
}

// TestMergeCursorKeepsItsLeaf: a cursor of a merge whose "and" side is
// driven by one leaf keeps paging in that leaf's order once the data makes
// the "and"'s other side the cheaper.
func TestMergeCursorKeepsItsLeaf(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var byName []string // userName sw "u" and externalId sw "E", in userName order
		for i := range 6 {
			byName = append(byName, mustCreateUser(t, s, user(fmt.Sprintf("u%d@x.io", i), "externalId", fmt.Sprintf("E%d", 9-i))).ID)
		}
		for i := range 10 {
			mustCreateUser(t, s, user(fmt.Sprintf("v%d@x.io", i), "externalId", fmt.Sprintf("E%d", i)))
		}
		other := mustCreateUser(t, s, user("w@x.io", "displayName", "D")).ID
		e, err := resources.ParseFilter(schemas.Users(), `(userName sw "u" and externalId sw "E") or displayName eq "D"`, "")
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 2, Seek: &resources.Seek{}})
		if err != nil || len(first.Positions) != 2 || first.Resources[1].ID != byName[1] {
			t.Fatalf("ListUsers(%v) first page = %+v, %v; want it in userName order", e, first.Resources, err)
		}
		for i := range 20 { // userName sw "u" is now the larger side
			mustCreateUser(t, s, user(fmt.Sprintf("u9%02d@x.io", i)))
		}
		next, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10, Seek: &resources.Seek{From: &first.Positions[1]}})
		var got []string
		for _, r := range next.Resources {
			got = append(got, r.ID)
		}
		want := append(slices.Clone(byName[2:]), other)
		if err != nil || !slices.Equal(got, want) || next.Total != 7 {
			t.Errorf("ListUsers(%v) from the first page = total %d, %v, %v; want 7, %v", e, next.Total, got, err, want)
		}
	})
}

// TestMergeActiveSide: an active side of a merge yields its users in
// creation order, by startIndex and by cursor.
func TestMergeActiveSide(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		var inactive []string
		var user0 string
		for i := range 30 {
			r := mustCreateUser(t, s, user(fmt.Sprintf("u%02d@x.io", (i*7)%30), "active", i%4 != 1, "externalId", fmt.Sprintf("E%d", i%5)))
			if i%4 == 1 {
				inactive = append(inactive, r.ID)
			} else if i == 0 {
				user0 = r.ID
			}
		}
		e, err := resources.ParseFilter(schemas.Users(), `active eq false or externalId eq "E0"`, "")
		if err != nil {
			t.Fatal(err)
		}
		// E0: users 0, 5, 10, ... (5, 25 are inactive, so left out), in externalId then id order.
		var e0 []string
		page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: mustFilter(t, `externalId eq "E0" and active eq true`), StartIndex: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Resources {
			e0 = append(e0, r.ID)
		}
		slices.Sort(e0)
		if len(e0) != 4 || !slices.Contains(e0, user0) {
			t.Fatalf("the data: E0 and active = %v, want 4 with user 0", e0)
		}
		want := append(slices.Clone(inactive), e0...)
		total, got := filteredPage(t, s, `active eq false or externalId eq "E0"`, 1, 100, func(r resources.Resource) string { return r.ID })
		if total != len(want) || !slices.Equal(got, want) {
			t.Errorf("ListUsers(%v) = total %d, %v; want %d, %v", e, total, got, len(want), want)
		}
		for _, size := range []int{1, 4, 100} {
			forward, backward := seekWalk(t, s, resources.Query{Filter: e}, size, len(want))
			if !slices.Equal(forward, want) || !slices.Equal(backward, want) {
				t.Errorf("cursor walk by %d = %v\nback %v\nwant %v", size, forward, backward, want)
			}
		}
	})
}

// TestMergeWalkAfterPlanChange: a cursor walk of a merged "or" goes on when
// creations make a branch's cheapest side an "or" (no leaf to drive it):
// the branch is then driven by its cheapest leaf, and the walk returns
// each user once instead of failing with invalidCursor.
func TestMergeWalkAfterPlanChange(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 3 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i)))
		}
		for i := range 2 {
			mustCreateUser(t, s, user(fmt.Sprintf("d%d@example.com", i), "displayName", "D", "externalId", "a"))
		}
		for i := range 10 {
			mustCreateUser(t, s, user(fmt.Sprintf("e%d@example.com", i), "externalId", "a"))
		}
		f := `userName sw "u" or (displayName eq "D" and (externalId eq "a" or name.givenName eq "b"))`
		e, err := resources.ParseFilter(schemas.Users(), f, "")
		if err != nil {
			t.Fatal(err)
		}
		next := func(from *resources.Position) resources.Page {
			t.Helper()
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 2, Seek: &resources.Seek{From: from}})
			if err != nil {
				t.Fatalf("%s, a page after %v: %v", f, from, err)
			}
			return page
		}
		page := next(nil)
		var walked []string
		for _, r := range page.Resources {
			walked = append(walked, r.Attributes["userName"].(string))
		}
		// Twenty more with displayName "D": the "and"'s side of the
		// externalId "or" (10 + 2 entries) is now the cheaper one.
		for i := range 20 {
			mustCreateUser(t, s, user(fmt.Sprintf("x%d@example.com", i), "displayName", "D"))
		}
		for page.Next {
			page = next(&page.Positions[len(page.Positions)-1])
			for _, r := range page.Resources {
				walked = append(walked, r.Attributes["userName"].(string))
			}
		}
		slices.Sort(walked)
		want := []string{"d0@example.com", "d1@example.com", "u0@example.com", "u1@example.com", "u2@example.com"}
		if !slices.Equal(walked, want) {
			t.Errorf("%s walked by cursor across the creations = %v, want %v", f, walked, want)
		}
	})
}
