package backend

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestPositionTimeLayout: a position read from a dateTime index (seekIndex)
// and one made from a document (seekMatches) encode a time alike, so a walk
// may pass from one to the other.
func TestPositionTimeLayout(t *testing.T) {
	if resources.PositionTimeLayout != tsFormat {
		t.Errorf("resources.PositionTimeLayout = %q, tsFormat = %q: they must be the same", resources.PositionTimeLayout, tsFormat)
	}
}

// TestCursorKey: the first call makes the key, every later one, from any
// process sharing the store, reads the same.
func TestCursorKey(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		k1, err := s.CursorKey(ctx)
		if err != nil || len(k1) != 32 {
			t.Fatalf("CursorKey = %x, %v; want 32 bytes", k1, err)
		}
		k2, err := s.CursorKey(ctx)
		if err != nil || !bytes.Equal(k1, k2) {
			t.Errorf("CursorKey again = %x, %v; want %x", k2, err, k1)
		}
	})
}

// seekWalk walks a query by cursor as the API does: next pages from the
// start to the end, then previous pages from the last page back to the
// start. It returns the ids of each walk in order, and fails on a page
// whose total is not total (unless total < 0) or on an error.
func seekWalk(t *testing.T, s *Store, q resources.Query, count, total int) (forward, backward []string) {
	t.Helper()
	ctx := context.Background()
	list := func(sk resources.Seek) resources.Page {
		t.Helper()
		q := q
		q.Count, q.Seek = count, &sk
		page, err := s.ListUsers(ctx, org, q)
		if err != nil {
			t.Fatalf("ListUsers(%v, %+v): %v", q.Filter, sk, err)
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("ListUsers(%v, %+v): total %d, want %d", q.Filter, sk, page.Total, total)
		}
		if len(page.Positions) != len(page.Resources) {
			t.Fatalf("ListUsers(%v): %d positions for %d resources", q.Filter, len(page.Positions), len(page.Resources))
		}
		return page
	}
	ids := func(page resources.Page) []string {
		out := make([]string, len(page.Resources))
		for i, r := range page.Resources {
			out[i] = r.ID
		}
		return out
	}
	var sk resources.Seek
	var last resources.Page
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("ListUsers(%v): the walk does not end", q.Filter)
		}
		page := list(sk)
		if i == 0 && page.Previous {
			t.Errorf("ListUsers(%v): the first page has a previous one", q.Filter)
		}
		forward = append(forward, ids(page)...)
		last = page
		if !page.Next || len(page.Positions) == 0 {
			break
		}
		sk = resources.Seek{From: &page.Positions[len(page.Positions)-1]}
	}
	backward = ids(last)
	for page := last; page.Previous && len(page.Positions) > 0; {
		if len(backward) > len(forward)+count {
			t.Fatalf("ListUsers(%v): the walk back does not end", q.Filter)
		}
		page = list(resources.Seek{From: &page.Positions[0], Before: true})
		backward = append(ids(page), backward...)
	}
	return forward, backward
}

// TestSeekFromIndex: a filtered, unsorted cursor walk reads the plan's key
// from its position: with MaxScan below the number of matches, it returns
// every match exactly once, in the key's order (value, then id) as
// startIndex paging does, both ways, with exact totals.
func TestSeekFromIndex(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rt := schemas.Users()
		type u struct{ id, userName string }
		var active, ws []u
		var all []resources.Resource
		for i := range 45 {
			name := fmt.Sprintf("%s%02d@x.io", []string{"w", "W", "b"}[i%3], (i*17)%45) // created out of name order
			r := mustCreateUser(t, s, user(name, "active", i%5 != 0,
				"emails", []any{map[string]any{"value": "w" + name}, map[string]any{"value": "a" + name}}))
			all = append(all, r)
			if i%5 != 0 {
				active = append(active, u{r.ID, name})
			}
			if name[0] == 'w' || name[0] == 'W' {
				ws = append(ws, u{r.ID, strings.ToLower(name)})
			}
		}
		s.MaxScan = 10
		slices.SortFunc(ws, func(a, b u) int { return strings.Compare(a.userName, b.userName) })
		ids := func(us []u) []string {
			out := make([]string, len(us))
			for i, x := range us {
				out[i] = x.id
			}
			return out
		}
		for _, tc := range []struct {
			filter string
			want   []string // nil: as startIndex paging orders them
		}{
			{`active eq true`, ids(active)}, // creation order (active.go)
			{`userName sw "w"`, ids(ws)},
			{`userName sw "w0" or userName sw "w3" or userName sw "b1"`, nil}, // ranges of one key
			{`active eq true and userName sw "w"`, nil},                       // driven by a leaf
			{`emails.value sw "w"`, nil},                                      // multi-valued, exact
			{`emails[value sw "aw"] and active eq false`, nil},                // value path
		} {
			e, err := resources.ParseFilter(rt, tc.filter, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", tc.filter, err)
			}
			var want []string
			for _, r := range all {
				if resources.Match(resources.Document(rt, r, ""), e) {
					want = append(want, r.ID)
				}
			}
			if len(want) <= s.MaxScan && tc.want != nil {
				t.Fatalf("%s: %d matches, not more than MaxScan %d", tc.filter, len(want), s.MaxScan)
			}
			byIndex, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 100})
			if err != nil {
				t.Fatalf("ListUsers(%s): %v", tc.filter, err)
			}
			var ordered []string
			for _, r := range byIndex.Resources {
				ordered = append(ordered, r.ID)
			}
			if !sameSet(ordered, want) {
				t.Fatalf("ListUsers(%s) by startIndex = %v; want the matches %v", tc.filter, ordered, want)
			}
			if tc.want != nil {
				ordered = tc.want
			}
			for _, count := range []int{1, 7, 100} {
				forward, backward := seekWalk(t, s, resources.Query{Filter: e}, count, len(want))
				if !slices.Equal(forward, ordered) {
					t.Errorf("%s by %d: walk = %v\nwant %v", tc.filter, count, forward, ordered)
				}
				if !slices.Equal(backward, ordered) {
					t.Errorf("%s by %d: walk back = %v\nwant %v", tc.filter, count, backward, ordered)
				}
			}
		}
	})
}

// TestSeekFromIndexWhileWriting: a cursor walk of a filter read from an
// index, while matching users are created and deleted between its pages,
// returns every matching user left unchanged exactly once.
func TestSeekFromIndexWhileWriting(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.MaxScan = 10
		var ids []string
		for i := range 40 {
			ids = append(ids, mustCreateUser(t, s, user(fmt.Sprintf("w%02d@x.io", (i*7)%40), "active", true)).ID)
		}
		deleted := map[string]bool{}
		n := 0 // users made meanwhile
		for _, f := range []string{`active eq true`, `userName sw "w"`, `active eq true and userName sw "w"`,
			`meta.created gt "2000-01-01T00:00:00.0000005Z"`, `meta.created pr and userName sw "w"`,
			`meta.created lt "2999-01-01T00:00:00Z" or externalId eq "none"`} {
			e, err := resources.ParseFilter(schemas.Users(), f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			unchanged := map[string]bool{}
			for _, id := range ids {
				if !deleted[id] {
					unchanged[id] = true
				}
			}
			seen := map[string]int{}
			var sk resources.Seek
			for page := 0; ; page++ {
				if page > 100 {
					t.Fatalf("%s: the walk does not end", f)
				}
				got, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 3, Seek: &sk})
				if err != nil {
					t.Fatalf("ListUsers(%s): %v", f, err)
				}
				for _, r := range got.Resources {
					seen[r.ID]++
				}
				// Between pages: a new matching user, and one deleted, in turn
				// ahead of the walk and behind it.
				n++
				nu := mustCreateUser(t, s, user(fmt.Sprintf("w%02d-%d@x.io", (n*13)%40, n), "active", true))
				ids = append(ids, nu.ID)
				victim := ids[(n*11)%len(ids)]
				if !deleted[victim] && victim != nu.ID {
					if err := s.DeleteUser(ctx, org, victim, 0); err != nil {
						t.Fatalf("DeleteUser: %v", err)
					}
					deleted[victim] = true
					delete(unchanged, victim)
				}
				if !got.Next {
					break
				}
				sk = resources.Seek{From: &got.Positions[len(got.Positions)-1]}
			}
			for id, c := range seen {
				if c > 1 {
					t.Errorf("%s: %s returned %d times", f, id, c)
				}
			}
			for id := range unchanged {
				if seen[id] != 1 {
					t.Errorf("%s: unchanged user %s returned %d times, want once", f, id, seen[id])
				}
			}
		}
	})
}

// TestSeekRefusesOtherShapes: a position read from one leaf is refused by
// a query that reads another (or collects in creation order), as
// invalidCursor, and a creation position is refused where positions come
// from an index.
func TestSeekRefusesOtherShapes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 6 {
			mustCreateUser(t, s, user(fmt.Sprintf("w%d@x.io", i), "active", true, "name", map[string]any{"familyName": "Ng"}))
		}
		parse := func(f string) resources.Query {
			e, err := resources.ParseFilter(schemas.Users(), f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			return resources.Query{Filter: e, Count: 2}
		}
		first := parse(`userName sw "w"`)
		first.Seek = &resources.Seek{}
		page, err := s.ListUsers(ctx, org, first)
		if err != nil || len(page.Positions) != 2 {
			t.Fatalf("ListUsers(userName sw \"w\") = %d positions, %v", len(page.Positions), err)
		}
		keyed := page.Positions[1]
		if !keyed.HasKey || keyed.Seq >= 0 {
			t.Fatalf("position read from the index = %+v; want HasKey and a negative Seq", keyed)
		}
		created := resources.Position{Seq: 3, ID: keyed.ID}
		for _, tc := range []struct {
			filter string
			from   resources.Position
			across bool
		}{
			{`name.familyName eq "Ng"`, keyed, false},
			{`name.familyName co "g"`, keyed, false}, // scanned, in creation order
			{`userName sw "w"`, keyed, true},         // across types: creation order
			{`userName sw "w"`, resources.Position{Seq: keyed.Seq + 1, HasKey: true, Key: keyed.Key, ID: keyed.ID}, false},
			{`active eq true`, keyed, false}, // read in creation order (active.go)
			{`active eq true and userName sw "w0"`, keyed, false},
			{``, keyed, false},
		} {
			q := resources.Query{Count: 2}
			if tc.filter != "" {
				q = parse(tc.filter)
			}
			q.Seek = &resources.Seek{From: &tc.from, ByCreation: tc.across}
			_, err := s.ListUsers(ctx, org, q)
			wantCode(t, fmt.Sprintf("ListUsers(%s from %+v, across %v)", tc.filter, tc.from, tc.across), err, resources.InvalidCursor)
		}
		// A creation position where the plan reads an index: answered in
		// creation order, as the plan that minted it did.
		for _, f := range []string{`userName sw "w"`, `active eq true`, `active eq true and name.familyName eq "Ng"`} {
			q := parse(f)
			q.Seek = &resources.Seek{From: &created}
			if _, err := s.ListUsers(ctx, org, q); err != nil {
				t.Errorf("ListUsers(%s from a creation position): %v", f, err)
			}
		}
	})
}
