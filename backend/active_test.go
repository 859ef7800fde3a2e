package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestActiveExceptions: active is kept as the set of users whose active is
// not true, and filters on it (eq, ne, pr, and their "not"s) are
// answered from that set, in creation order, however many match (MaxScan
// below the matches): exact totals, every startIndex window, cursor walks
// both ways, an "and" it drives.
func TestActiveExceptions(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		rt := schemas.Users()
		var ids []string
		for i := range 60 {
			u := user(fmt.Sprintf("u%02d@x.io", (i*7)%60))
			switch {
			case i%4 == 1:
				u.Attributes["active"] = false
			case i%9 == 2:
				// none
			default:
				u.Attributes["active"] = true
			}
			ids = append(ids, mustCreateUser(t, s, u).ID)
		}
		for _, i := range []int{1, 3, 10} { // a false, a true and a none go
			if err := s.DeleteUser(ctx, org, ids[i], 0); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
		for _, i := range []int{5, 8, 11} { // false -> none, true -> false, none -> true
			u, err := s.GetUser(ctx, org, ids[i])
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			switch activeState(u.Attributes) {
			case "true":
				u.Attributes["active"] = false
			case "false":
				delete(u.Attributes, "active")
			default:
				u.Attributes["active"] = "TRUE" // a string a client sent
			}
			if _, err := s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{}); err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
		}
		all, err := s.ListUsers(ctx, org, resources.Query{Count: 100})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		notTrue := 0
		for _, u := range all.Resources {
			if activeState(u.Attributes) != "true" {
				notTrue++
			}
		}
		if n := s.client.Exists(ctx, p+"ix:user:active").Val(); n != 0 {
			t.Errorf("ix:user:active exists: active is kept as its exceptions only")
		}
		if n := s.client.ZCard(ctx, p+"inactive:user").Val(); n != int64(notTrue) {
			t.Errorf("inactive:user holds %d users, want the %d whose active is not true", n, notTrue)
		}
		s.MaxScan = 5
		for _, f := range []string{"active eq true", "active eq false", "active pr", `active eq "True"`,
			// An "and" it drives (title has no index; an indexed side
			// would drive, active checked by id: TestByIDChecks).
			`active eq true and not (title pr)`, `active eq false and not (title pr)`,
			// The other three modes, and each one's "not".
			"active eq null", "not (active pr)", "active ne true", "not (active eq true)",
			"active ne false", "not (active eq false)", "active ne null", "not (active eq null)",
			"not (active ne true)", "not (not (active eq false))",
			`active ne true and not (title pr)`, `not (active pr) and not (title pr)`, `active ne false and not (title pr)`} {
			e, err := resources.ParseFilter(rt, f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			var want []string // in creation order
			for _, u := range all.Resources {
				if resources.Match(resources.Document(rt, u, ""), e) {
					want = append(want, u.ID)
				}
			}
			for start := 1; start <= len(want)+1; start += 3 {
				for _, count := range []int{1, 4, 100} {
					page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: start, Count: count})
					if err != nil {
						t.Fatalf("ListUsers(%s, %d, %d): %v", f, start, count, err)
					}
					var got []string
					for _, u := range page.Resources {
						got = append(got, u.ID)
					}
					wantWin := want[min(start-1, len(want)):min(start-1+count, len(want))]
					if page.Total != len(want) || !slices.Equal(got, wantWin) {
						t.Errorf("ListUsers(%s, start %d, count %d) = total %d, %v; want %d, %v", f, start, count, page.Total, got, len(want), wantWin)
					}
				}
			}
			for _, count := range []int{1, 7} {
				forward, backward := seekWalk(t, s, resources.Query{Filter: e}, count, len(want))
				if !slices.Equal(forward, want) || !slices.Equal(backward, want) {
					t.Errorf("%s by %d: walk %v, back %v; want %v", f, count, forward, backward, want)
				}
			}
		}
		// Sorted, walked along the userName index, stopping at the page's
		// end: the total is the leaf's count.
		sort, err := resources.ParseSort(rt, "userName", "descending")
		if err != nil {
			t.Fatalf("ParseSort: %v", err)
		}
		var want []string
		for _, u := range all.Resources {
			if activeState(u.Attributes) == "true" {
				want = append(want, strings.ToLower(u.Attributes["userName"].(string)))
			}
		}
		slices.Sort(want)
		slices.Reverse(want)
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, "active eq true"), Sort: sort, StartIndex: 3, Count: 4})
		if err != nil {
			t.Fatalf("ListUsers(active eq true, sortBy userName): %v", err)
		}
		var got []string
		for _, u := range page.Resources {
			got = append(got, u.Attributes["userName"].(string))
		}
		if page.Total != len(want) || !slices.Equal(got, want[2:6]) {
			t.Errorf("ListUsers(active eq true, sortBy userName) = total %d, %v; want %d, %v", page.Total, got, len(want), want[2:6])
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Errorf("Check found:\n%s", findingLines(got))
		}
	})
}

// TestActiveRankDenseExceptions: the first user of a page is found,
// whatever the mode, however the exceptions lie: long runs of them (false,
// then none), before, between and after the users that match; for the
// modes that read the exceptions, on either side or on both.
func TestActiveRankDenseExceptions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		byMode := map[string][]string{} // the users each mode yields, in creation order
		for i := range 120 {
			u := user(fmt.Sprintf("r%03d@x.io", i))
			state := "none"
			switch {
			case i%40 >= 30 || i == 5:
				state = "true"
			case i%40 < 15 || i == 22:
				state = "false"
			}
			if state != "none" {
				u.Attributes["active"] = state == "true"
			}
			id := mustCreateUser(t, s, u).ID
			for mode, states := range map[string][]string{
				activeTrue: {"true"}, activePresent: {"true", "false"}, activeNotFalse: {"true", "none"},
				activeFalse: {"false"}, activeAbsent: {"none"}, activeNotTrue: {"false", "none"},
			} {
				if slices.Contains(states, state) {
					byMode[mode] = append(byMode[mode], id)
				}
			}
		}
		p := "scimd:{" + org + "}:"
		for mode, want := range byMode {
			above, below, complement := activeSides(mode)
			for k := range len(want) + 1 {
				var seq string
				var found bool
				var err error
				if complement {
					seq, found, err = s.activeRank(ctx, p, &s.users, mode, int64(k))
				} else {
					seq, found, err = s.exceptionAt(ctx, p+"inactive:user", above, below, int64(k))
				}
				if err != nil {
					t.Fatalf("%s: position %d: %v", mode, k, err)
				}
				if k == len(want) {
					if found {
						t.Errorf("%s: position %d, past the last = %s", mode, k, seq)
					}
					continue
				}
				got, _, _, err := s.activeRead(ctx, p, &s.users, &node{active: mode}, seq, "+inf", false, 1)
				if err != nil || !found || len(got) != 1 || got[0] != want[k] {
					t.Errorf("%s: position %d = %s, %v, %v: user %v; want %s", mode, k, seq, found, err, got, want[k])
				}
			}
		}
	})
}

// TestByIDChecks: an "and" of an indexed comparison with filters on active
// or a users' meta.created, streamed (MaxScan below the matches) or walked
// along a sort index (the filter of those alone, or with a leaf of that
// index), are checked on the ids' scores: the same users as the brute force (sorted, in the same order),
// and no document read but the page's.
func TestByIDChecks(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rt := schemas.Users()
		for i := range 60 {
			u := user(fmt.Sprintf("u%02d@x.io", (i*7)%60), "emails", []any{map[string]any{"value": fmt.Sprintf("m%d@x.io", i%3)}})
			switch i % 5 {
			case 1:
				u.Attributes["active"] = false
			case 2:
				// none
			default:
				u.Attributes["active"] = true
			}
			mustCreateUser(t, s, u)
		}
		all, err := s.ListUsers(ctx, org, resources.Query{Count: 100})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		mid := all.Resources[30].Created.Format("2006-01-02T15:04:05.999999999Z07:00")
		byName, err := resources.ParseSort(rt, "userName", "descending")
		if err != nil {
			t.Fatalf("ParseSort: %v", err)
		}
		reads := &sentCommands{}
		hookAll(s, reads)
		s.MaxScan = 5
		for _, tc := range []struct {
			f string
			// sortedByID: every leaf is read by creation score, or but
			// one of the index sorted by (userName), so the walk along
			// the sort index (or that leaf) checks them by id too.
			sortedByID bool
		}{
			{`active eq true and userName sw "u1"`, true}, {`userName sw "u" and active ne true`, true},
			{`not (active pr) and userName gt "u2"`, true}, {`active ne false and emails.value sw "m1"`, false},
			{fmt.Sprintf(`meta.created gt %q and userName sw "u"`, mid), true},
			{fmt.Sprintf(`emails.value sw "m" and meta.created le %q and active eq false`, mid), false},
			{`(userName sw "u1" or userName sw "u3") and active ne true`, true},
			{`active eq true`, true}, {`active ne true`, true}, {fmt.Sprintf(`meta.created ge %q and active pr`, mid), true},
		} {
			f := tc.f
			e := mustFilter(t, f)
			for _, sort := range []*resources.Sort{nil, byName} {
				var want []string
				for _, u := range all.Resources {
					if resources.Match(resources.Document(rt, u, ""), e) {
						want = append(want, u.ID)
					}
				}
				if sort != nil {
					slices.SortFunc(want, func(a, b string) int {
						return strings.Compare(userNameOf(all, b), userNameOf(all, a))
					})
				}
				// Unsorted, the order is the driving index's: the whole
				// list is the brute force's set, its window the page.
				for _, win := range [][2]int{{1, 100}, {3, 4}} {
					reads.reset()
					page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Sort: sort, StartIndex: win[0], Count: win[1]})
					if err != nil {
						t.Fatalf("ListUsers(%s, sorted %v, %v): %v", f, sort != nil, win, err)
					}
					var got []string
					for _, u := range page.Resources {
						got = append(got, u.ID)
					}
					if sort == nil && win[1] == 100 {
						if !sameSet(got, want) {
							t.Errorf("ListUsers(%s) = %v; want %v in any order", f, got, want)
						}
						want = got
					}
					wantWin := want[min(win[0]-1, len(want)):min(win[0]-1+win[1], len(want))]
					if page.Total != len(want) || !slices.Equal(got, wantWin) {
						t.Errorf("ListUsers(%s, sorted %v, %v) = total %d, %v; want %d, %v", f, sort != nil, win, page.Total, got, len(want), wantWin)
					}
					if n := reads.userDocs(); (sort == nil || tc.sortedByID) && n > len(got) {
						t.Errorf("ListUsers(%s, sorted %v, %v) read %d documents, want only the page's %d", f, sort != nil, win, n, len(got))
					}
				}
				if sort == nil { // cursors read in startIndex paging's order
					forward, backward := seekWalk(t, s, resources.Query{Filter: e}, 3, len(want))
					if !slices.Equal(forward, want) || !slices.Equal(backward, want) {
						t.Errorf("%s by cursor: walk %v, back %v; want %v", f, forward, backward, want)
					}
				}
			}
		}
		// Within MaxScan too, a sort along a leaf of the filter walks it.
		s.MaxScan = 1000
		reads.reset()
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `active eq true and userName sw "u1"`), Sort: byName, StartIndex: 2, Count: 2})
		if err != nil || page.Total == 0 || len(page.Resources) != 2 {
			t.Fatalf("ListUsers(active eq true and userName sw \"u1\", by userName, MaxScan 1000) = %d, %d resources, %v", page.Total, len(page.Resources), err)
		}
		if n := reads.userDocs(); n > 2 {
			t.Errorf("a sort within MaxScan along the filter's userName leaf read %d documents, want the page's 2", n)
		}

	})
}

// userNameOf returns the userName of the user id among page's.
func userNameOf(page resources.Page, id string) string {
	for _, u := range page.Resources {
		if u.ID == id {
			return u.Attributes["userName"].(string)
		}
	}
	return ""
}
