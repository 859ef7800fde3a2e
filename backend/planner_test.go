package backend

import (
	"context"
	flagpkg "flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

var plannerSeed = flagpkg.Uint64("planner.seed", 0, "seed of TestPlannerMatchesBruteForce (0: from the clock)")

// propUser returns a random user whose attribute values share prefixes, so
// that ranges and prefixes match several users, with attributes absent at
// random.
func propUser(r *rand.Rand, i int) resources.Resource {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	attrs := map[string]any{"userName": fmt.Sprintf("%s%03d@%s", pick("w", "W", "wa", "b", "bob", "c"), i, pick("x.io", "Y.org", "x.net"))}
	if r.IntN(4) > 0 {
		attrs["externalId"] = pick("E-", "e-", "F", "") + fmt.Sprint(r.IntN(20))
	}
	if r.IntN(5) > 0 {
		name := map[string]any{}
		if r.IntN(4) > 0 {
			name["givenName"] = pick("Ann", "anna", "Anne", "Bo", "bob", "Émile", "zoë", "")
		}
		if r.IntN(4) > 0 {
			name["familyName"] = pick("Smith", "smithe", "Sm", "Jones", "ng", "Ng", "O'Brien")
		}
		attrs["name"] = name
	}
	if r.IntN(3) > 0 {
		attrs["displayName"] = pick("A", "a", "Ab", "B") + fmt.Sprint(r.IntN(12))
	}
	switch r.IntN(3) {
	case 0:
		attrs["active"] = true
	case 1:
		attrs["active"] = false
	}
	var emails []any
	for j := range r.IntN(4) {
		e := map[string]any{"value": fmt.Sprintf("%s%d@%s", pick("a", "ab", "B", "c"), r.IntN(3)+j*3, pick("x.io", "Y.org"))}
		if r.IntN(2) == 0 {
			e["type"] = pick("work", "home")
		}
		if j == 0 && r.IntN(3) == 0 {
			e["primary"] = true
		}
		emails = append(emails, e)
	}
	if emails != nil {
		attrs["emails"] = emails
	}
	return resources.Resource{Attributes: attrs}
}

// filterGen writes random filters over every indexed attribute of users,
// with values taken from the users' own (whole, cut, or in another case).
type filterGen struct {
	r      *rand.Rand
	values map[string][]string // path -> values present in the data
	group  string
}

var propPaths = []string{"userName", "externalId", "emails.value", "name.givenName", "name.familyName", "displayName", "active", "meta.created", "meta.lastModified"}

func (g *filterGen) value(path string) string {
	vs := g.values[path]
	if len(vs) == 0 || g.r.IntN(10) == 0 {
		return []string{"", "a", "zz", "W0", "smith"}[g.r.IntN(5)]
	}
	v := vs[g.r.IntN(len(vs))]
	if strings.HasPrefix(path, "meta.") {
		return g.nearTime(v)
	}
	switch g.r.IntN(4) {
	case 0:
		v = v[:g.r.IntN(len(v)+1)]
	case 1:
		v = strings.ToUpper(v)
	}
	return v
}

// nearTime returns a time v (RFC 3339), or one a nanosecond, half a
// microsecond or a microsecond from it, in UTC or another offset: filter
// times have nanoseconds, users' creation times microseconds (created.go).
func (g *filterGen) nearTime(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || g.r.IntN(3) == 0 {
		return v
	}
	t = t.Add([]time.Duration{-time.Microsecond, -500, -1, 1, 500, time.Microsecond}[g.r.IntN(6)])
	if g.r.IntN(3) == 0 {
		return t.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
	}
	return t.Format(time.RFC3339Nano)
}

func (g *filterGen) leaf() string {
	if g.r.IntN(10) == 0 {
		name := []string{"Staff", "staff", "STAFF", "Other", "Gone"}[g.r.IntN(5)]
		return []string{
			fmt.Sprintf("groups.value eq %q", g.group),
			fmt.Sprintf("groups[value eq %q]", g.group),
			fmt.Sprintf("groups.display eq %q", name),
			fmt.Sprintf("groups[display eq %q]", name),
		}[g.r.IntN(4)]
	}
	path := propPaths[g.r.IntN(len(propPaths))]
	if path == "active" {
		switch g.r.IntN(4) {
		case 0:
			return "active pr"
		case 1:
			return "active ne true"
		}
		return fmt.Sprintf("active eq %v", g.r.IntN(2) == 0)
	}
	ops := []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
	if strings.HasPrefix(path, "meta.") {
		ops = []string{"eq", "ne", "gt", "ge", "lt", "le", "pr"}
	}
	op := ops[g.r.IntN(len(ops))]
	if op == "pr" {
		return path + " pr"
	}
	if path == "emails.value" && g.r.IntN(3) == 0 {
		inner := fmt.Sprintf("value %s %q", op, g.value(path))
		if g.r.IntN(2) == 0 {
			inner += fmt.Sprintf(" and type eq %q", []string{"work", "home"}[g.r.IntN(2)])
		}
		return "emails[" + inner + "]"
	}
	return fmt.Sprintf("%s %s %q", path, op, g.value(path))
}

func (g *filterGen) filter(depth int) string {
	if depth == 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(8) {
	case 0:
		return "not (" + g.filter(depth-1) + ")"
	case 1:
		return "not (" + g.leaf() + ")" // often a complement of one index
	case 2, 3:
		return "(" + g.filter(depth-1) + ") and (" + g.filter(depth-1) + ")"
	case 4:
		// eq or eq on two attributes, as identity providers send: a merge.
		return fmt.Sprintf("%s or %s", g.eq(), g.eq())
	}
	return "(" + g.filter(depth-1) + ") or (" + g.filter(depth-1) + ")"
}

// eq writes an eq comparison of a string attribute with one of its values.
func (g *filterGen) eq() string {
	path := []string{"userName", "externalId", "emails.value", "name.givenName", "name.familyName", "displayName"}[g.r.IntN(6)]
	return fmt.Sprintf("%s eq %q", path, g.value(path))
}

// TestPlannerMatchesBruteForce compares the planner with resources.Match on
// every document, over random users and random filters on every indexed
// attribute with every operator: the same total, the same set, no
// duplicates across pages, the same order on repeated requests and, with
// sortBy, the sort's order (ties by id). It runs with the default bounds,
// then with MaxScan small, so that the walks of sorted indexes and the
// streams of large ranges are taken. Reproduce a failure with
// -planner.seed=N.
func TestPlannerMatchesBruteForce(t *testing.T) {
	seed := *plannerSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(seed, 12))
		rt := schemas.Users()
		const n = 300
		var ids []string
		for i := range n {
			ids = append(ids, mustCreateUser(t, s, propUser(r, i)).ID)
		}
		for i := 0; i < n; i += 13 {
			if err := s.DeleteUser(ctx, org, ids[i], 0); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
		// Some users change their active (true, false, none in turn):
		// their entries in inactive:user move.
		for i := 1; i < n; i += 7 {
			if i%13 == 0 {
				continue
			}
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
				u.Attributes["active"] = true
			}
			if _, err := s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{}); err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
		}
		var members []string
		for i := 1; i < n; i += 5 {
			if i%13 != 0 {
				members = append(members, ids[i])
			}
		}
		grp := mustCreateGroup(t, s, group("Staff", members...))
		// Other: a second group, overlapping; Gone: deleted, its
		// memberships swept.
		mustCreateGroup(t, s, group("Other", members[:len(members)/2]...))
		gone := mustCreateGroup(t, s, group("Gone", members[len(members)/3:]...))
		if err := s.DeleteGroup(ctx, org, gone.ID, 0); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
		all, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: n})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		docs := make([]map[string]any, len(all.Resources))
		gen := &filterGen{r: r, values: map[string][]string{}, group: grp.ID}
		for i, u := range all.Resources {
			docs[i] = resources.Document(rt, u, "")
			for _, path := range propPaths {
				for _, v := range attrValues(docs[i], path) {
					if str, ok := v.(string); ok {
						gen.values[path] = append(gen.values[path], str)
					}
				}
			}
			gen.values["meta.created"] = append(gen.values["meta.created"], u.Created.Format(time.RFC3339Nano))
			gen.values["meta.lastModified"] = append(gen.values["meta.lastModified"], u.Modified.Format(time.RFC3339Nano))
		}
		sorts := []string{"", "", "userName", "name.familyName", "displayName", "meta.created", "emails", "externalId"}

		for _, maxScan := range []int{DefaultMaxScan, 40} {
			s.MaxScan = maxScan
			answered := 0
			combined := map[string]int{} // answers by a merge, by a complement
			for i := range 100 {
				f := gen.filter(2)
				if i < 4 {
					// A few complements, unsorted: most sorted queries are
					// too many for the small MaxScan, and the random ones
					// may hold no complement answered at all.
					f = "not (" + gen.eq() + ")"
				}
				e, err := resources.ParseFilter(rt, f, "")
				if err != nil {
					continue // e.g. a comparison the schema refuses
				}
				var sort *resources.Sort
				if by := sorts[r.IntN(len(sorts))]; by != "" && i >= 4 {
					order := []string{"ascending", "descending"}[r.IntN(2)]
					if sort, err = resources.ParseSort(rt, by, order); err != nil {
						t.Fatalf("ParseSort(%s): %v", by, err)
					}
				}
				what := fmt.Sprintf("seed %d, MaxScan %d, filter %s", seed, maxScan, f)
				if sort != nil {
					what = fmt.Sprintf("%s, sortBy %s descending %v", what, sort.Attr.FullName(), sort.Descending)
				}
				type match struct {
					id  string
					key any
					ok  bool
				}
				var want []match
				for i, u := range all.Resources {
					if resources.Match(docs[i], e) {
						m := match{id: u.ID}
						if sort != nil {
							m.key, m.ok = sort.SortKey(docs[i])
						}
						want = append(want, m)
					}
				}
				if sort != nil {
					slices.SortFunc(want, func(a, b match) int {
						if c := sort.Compare(a.key, a.ok, b.key, b.ok); c != 0 {
							return c
						}
						if sort.Descending {
							return strings.Compare(b.id, a.id)
						}
						return strings.Compare(a.id, b.id)
					})
				}
				wantIDs := make([]string, len(want))
				for i, m := range want {
					wantIDs[i] = m.id
				}
				list := func(start, count int) ([]string, int, error) {
					page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Sort: sort, StartIndex: start, Count: count})
					got := make([]string, len(page.Resources))
					for i, u := range page.Resources {
						got[i] = u.ID
					}
					return got, page.Total, err
				}
				full, total, err := list(1, n+10)
				if resources.ErrorCode(err) == resources.TooMany && maxScan != DefaultMaxScan {
					continue // bounded by the small MaxScan
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				answered++
				combined[combinedPlan(ctx, t, s, e)]++
				if total != len(wantIDs) || !sameSet(full, wantIDs) || len(dedupe(slices.Clone(full))) != len(full) {
					t.Errorf("%s: total %d, %d ids %v\nwant total %d, ids %v", what, total, len(full), full, len(wantIDs), wantIDs)
					continue
				}
				if sort != nil && !slices.Equal(full, wantIDs) {
					t.Errorf("%s: order %v\nwant %v", what, full, wantIDs)
					continue
				}
				// Pages of a random size, concatenated, are the whole list
				// in the same order; so is a random window.
				size := 10 + r.IntN(60)
				var walked []string
				for start := 1; start <= total; start += size {
					got, tot, err := list(start, size)
					if err != nil || tot != total {
						t.Fatalf("%s: page at %d of %d = total %d, %v; want total %d", what, start, size, tot, err, total)
					}
					walked = append(walked, got...)
				}
				if !slices.Equal(walked, full) {
					t.Errorf("%s: pages of %d = %v\nwant %v", what, size, walked, full)
					continue
				}
				start, count := 1+r.IntN(total+2), r.IntN(30)
				got, tot, err := list(start, count)
				wantWin := full[min(start-1, len(full)):min(start-1+count, len(full))]
				if err != nil || tot != total || !slices.Equal(got, wantWin) {
					t.Errorf("%s: window (%d, %d) = total %d, %v, %v; want total %d, %v", what, start, count, tot, got, err, total, wantWin)
				}
				// Unsorted, a cursor walk where the plan streams from a key
				// or combines index reads is the same list in the same
				// order, both ways.
				if sort == nil && seeksByPlan(ctx, t, s, e) {
					forward, backward := seekWalk(t, s, resources.Query{Filter: e}, size, total)
					if !slices.Equal(forward, full) || !slices.Equal(backward, full) {
						t.Errorf("%s: cursor walk by %d = %v\nback %v\nwant %v", what, size, forward, backward, full)
					}
				}
			}
			if answered < 30 {
				t.Errorf("seed %d, MaxScan %d: only %d filters answered", seed, maxScan, answered)
			}
			t.Logf("seed %d, MaxScan %d: %d merges, %d complements of %d filters answered", seed, maxScan, combined["merge"], combined["complement"], answered)
			if combined["merge"] == 0 || combined["complement"] == 0 {
				t.Errorf("seed %d, MaxScan %d: %d merges, %d complements; want some of each", seed, maxScan, combined["merge"], combined["complement"])
			}
		}
	})
}

// combinedPlan returns which plan of merge.go or complement.go answers
// the filter e: "merge", "complement" or "".
func combinedPlan(ctx context.Context, t *testing.T, s *Store, e resources.Filter) string {
	t.Helper()
	if s.complementOf(&s.users, e) != nil {
		return "complement"
	}
	p, err := prefix(org)
	if err != nil {
		t.Fatalf("prefix: %v", err)
	}
	if _, ok, err := s.mergeBranches(ctx, p, &s.users, e, s.plan(&s.users, e, false), false); err != nil || ok {
		if err != nil {
			t.Fatalf("mergeBranches(%v): %v", e, err)
		}
		return "merge"
	}
	return ""
}

// seeksByPlan reports whether a cursor walk of the filter e reads a key
// from its position (seekPlanned) or pages a merge (seekOr) or a
// complement (seekNot) rather than collecting in creation order.
func seeksByPlan(ctx context.Context, t *testing.T, s *Store, e resources.Filter) bool {
	t.Helper()
	if combinedPlan(ctx, t, s, e) != "" {
		return true
	}
	n := s.plan(&s.users, e, false)
	if n == nil {
		return false
	}
	if n.isLeaf() && n.exact && !n.multi || n.active != "" && n.exact {
		return true
	}
	p, err := prefix(org)
	if err != nil {
		t.Fatalf("prefix: %v", err)
	}
	drive, _, ok, err := s.driver(ctx, p, &s.users, n)
	if err != nil {
		t.Fatalf("driver(%v): %v", e, err)
	}
	return ok && drive.isLeaf()
}

// TestBroadExactFilter: an exact filter matching more than MaxScan answers
// with its exact total and the page at a deep startIndex, in the documented
// order: its index's (value, then id), for groups.value eq the group's
// members' display order, for active creation order (active.go), for an
// "and" of a range and active the range's.
func TestBroadExactFilter(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		type u struct{ id, userName, display string }
		var users []u
		for i := range 60 {
			name := fmt.Sprintf("u%02d@x.io", (i*37)%60) // created out of name order
			display := fmt.Sprintf("D%02d", (i*7)%60)
			r := mustCreateUser(t, s, user(name, "active", true, "displayName", display))
			users = append(users, u{r.ID, name, display})
		}
		var memberIDs []string
		for _, x := range users[:30] {
			memberIDs = append(memberIDs, x.id)
		}
		g := mustCreateGroup(t, s, group("Big", memberIDs...))
		s.MaxScan = 10
		byName := slices.Clone(users)
		slices.SortFunc(byName, func(a, b u) int { return strings.Compare(a.userName, b.userName) })
		byAllDisplays := slices.Clone(users) // displays are distinct
		slices.SortFunc(byAllDisplays, func(a, b u) int { return strings.Compare(strings.ToLower(a.display), strings.ToLower(b.display)) })
		byDisplay := slices.Clone(users[:30])
		slices.SortFunc(byDisplay, func(a, b u) int { return strings.Compare(strings.ToLower(a.display), strings.ToLower(b.display)) })
		ids := func(us []u) []string {
			out := make([]string, len(us))
			for i, x := range us {
				out[i] = x.id
			}
			return out
		}
		for _, tc := range []struct {
			filter       string
			start, count int
			total        int
			want         []string
		}{
			{`active eq true`, 41, 5, 60, ids(users[40:45])},
			{`userName sw "u"`, 51, 20, 60, ids(byName[50:])},
			{`userName sw "u0" or userName sw "u5"`, 12, 3, 20, ids(append(slices.Clone(byName[:10]), byName[50:]...)[11:14])},
			{`groups.value eq "` + g.ID + `"`, 21, 4, 30, ids(byDisplay[20:24])},
			{`active eq true and userName sw "u"`, 31, 2, 60, ids(byName[30:32])}, // driven by the range, active checked by id
			{`displayName pr`, 60, 5, 60, ids(byAllDisplays[59:])},
		} {
			total, got := filteredPage(t, s, tc.filter, tc.start, tc.count, func(r resources.Resource) string { return r.ID })
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Errorf("ListUsers(%s, start %d, count %d) = total %d, %v; want %d, %v", tc.filter, tc.start, tc.count, total, got, tc.total, tc.want)
			}
		}
	})
}

// TestDeepPage: a page of one range past deepPage is read by rank, and is
// the same as the index's order says.
func TestDeepPage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		const n = deepPage + 100
		var names []string
		for i := range n {
			name := fmt.Sprintf("d%05d@x.io", (i*7919)%n)
			names = append(names, name)
			mustCreateUser(t, s, user(name))
		}
		mustCreateUser(t, s, user("a@x.io"))
		mustCreateUser(t, s, user("e@x.io"))
		slices.Sort(names)
		for _, tc := range []struct {
			filter       string
			start, count int
			total        int
			want         []string
		}{
			{`userName sw "d"`, deepPage + 51, 10, n, names[deepPage+50 : deepPage+60]},
			{`userName gt "d00010@x.io"`, deepPage + 1, 200, n - 11 + 1, append(slices.Clone(names[deepPage+11:]), "e@x.io")},
			{`userName lt "e"`, deepPage + 2, 3, n + 1, names[deepPage : deepPage+3]},
			{`userName sw "d"`, n + 1, 10, n, nil},
			// Ranges of one key, entered deep: read by rank too.
			{`userName sw "a" or userName sw "d"`, deepPage + 51, 10, n + 1, names[deepPage+49 : deepPage+59]},
			{`userName sw "d" or userName sw "e"`, n, 10, n + 1, []string{names[n-1], "e@x.io"}},
		} {
			total, got := filteredPage(t, s, tc.filter, tc.start, tc.count, func(r resources.Resource) string { return r.Attributes["userName"].(string) })
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Errorf("ListUsers(%s, start %d, count %d) = total %d, %v; want %d, %v", tc.filter, tc.start, tc.count, total, got, tc.total, tc.want)
			}
		}
		// Sorted without a filter, read straight from the index by rank.
		all := append([]string{"a@x.io"}, append(slices.Clone(names), "e@x.io")...)
		for _, desc := range []bool{false, true} {
			order := "ascending"
			want := slices.Clone(all)
			if desc {
				order = "descending"
				slices.Reverse(want)
			}
			sort, err := resources.ParseSort(schemas.Users(), "userName", order)
			if err != nil {
				t.Fatalf("ParseSort: %v", err)
			}
			page, err := s.ListUsers(context.Background(), org, resources.Query{Sort: sort, StartIndex: deepPage + 1, Count: 5})
			if err != nil {
				t.Fatalf("ListUsers(sortBy userName %s): %v", order, err)
			}
			var got []string
			for _, r := range page.Resources {
				got = append(got, r.Attributes["userName"].(string))
			}
			if page.Total != n+2 || !slices.Equal(got, want[deepPage:deepPage+5]) {
				t.Errorf("ListUsers(sortBy userName %s, start %d) = total %d, %v; want %d, %v", order, deepPage+1, page.Total, got, n+2, want[deepPage:deepPage+5])
			}
		}
	})
}

// filteredPage lists the users matching filter from startIndex start,
// count of them, and returns the total and each one's key.
func filteredPage(t *testing.T, s *Store, filter string, start, count int, key func(resources.Resource) string) (int, []string) {
	t.Helper()
	e, err := resources.ParseFilter(schemas.Users(), filter, "")
	if err != nil {
		t.Fatalf("ParseFilter(%s): %v", filter, err)
	}
	page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, StartIndex: start, Count: count})
	if err != nil {
		t.Fatalf("ListUsers(%s): %v", filter, err)
	}
	var got []string
	for _, r := range page.Resources {
		got = append(got, key(r))
	}
	return page.Total, got
}
