package backend

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

var (
	givenNames  = []string{"Anna", "anna", "Bob", "Émile", "zoë", "Zoe", "", "Mark"}
	familyNames = []string{"Smith", "smith", "Jones", "O'Brien", "ng", "Ng"}
	externalIDs = []string{"EXT-1", "ext-1", "ext-2", "A", "b", ""}
	emailHosts  = []string{"example.com", "Example.org", "b.net"}
)

// genUser returns a random user with the attributes the indexes cover and
// some they don't.
func genUser(r *rand.Rand, i int) resources.Resource {
	attrs := map[string]any{"userName": fmt.Sprintf("User%03d@%s", i, emailHosts[r.IntN(len(emailHosts))])}
	if r.IntN(4) > 0 {
		attrs["externalId"] = externalIDs[r.IntN(len(externalIDs))]
	}
	if r.IntN(5) > 0 {
		name := map[string]any{}
		if r.IntN(5) > 0 {
			name["givenName"] = givenNames[r.IntN(len(givenNames))]
		}
		if r.IntN(5) > 0 {
			name["familyName"] = familyNames[r.IntN(len(familyNames))]
		}
		attrs["name"] = name
	}
	if r.IntN(2) == 0 {
		attrs["displayName"] = string(rune('A'+r.IntN(6))) + fmt.Sprint(r.IntN(10))
	}
	switch r.IntN(3) {
	case 0:
		attrs["active"] = true
	case 1:
		attrs["active"] = false
	}
	var emails []any
	for j := range r.IntN(3) {
		e := map[string]any{"value": fmt.Sprintf("%c%d@%s", 'a'+rune(r.IntN(4)), j, emailHosts[r.IntN(len(emailHosts))])}
		if r.IntN(2) == 0 {
			e["type"] = "work"
		}
		emails = append(emails, e)
	}
	if emails != nil {
		attrs["emails"] = emails
	}
	if r.IntN(3) == 0 {
		attrs[schemas.EnterpriseUserURN] = map[string]any{"department": []string{"Sales", "sales", "R&D"}[r.IntN(3)]}
	}
	return resources.Resource{Attributes: attrs}
}

// TestQueryMatchesFilter checks every planner path (index ranges, the
// userName hash, and/or/not, value paths, scans) against resources.Match on
// every document.
func TestQueryMatchesFilter(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(1, 2))
		const n = 300
		var ids []string
		for i := range n {
			ids = append(ids, mustCreateUser(t, s, genUser(r, i)).ID)
		}
		// Rewrite and delete some, so the indexes must have followed.
		for i := 0; i < n; i += 7 {
			u, err := s.GetUser(ctx, org, ids[i])
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			nu := genUser(r, i)
			nu.ID, nu.Attributes["userName"] = u.ID, u.Attributes["userName"]
			if _, err := s.ReplaceUser(ctx, org, nu, u.Version, resources.UserWrite{}); err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
		}
		for i := 3; i < n; i += 11 {
			if err := s.DeleteUser(ctx, org, ids[i], 0); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
		g := mustCreateGroup(t, s, group("Staff", ids[1], ids[2], ids[4]))

		all, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: n})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if all.Total != len(all.Resources) || all.Total != n-len(slices.Collect(func(yield func(int) bool) {
			for i := 3; i < n; i += 11 {
				yield(i)
			}
		})) {
			t.Fatalf("ListUsers unfiltered: total %d, %d resources", all.Total, len(all.Resources))
		}
		created100 := all.Resources[100].Created.Format("2006-01-02T15:04:05.999999999Z07:00")
		mod50 := all.Resources[50].Modified.Format("2006-01-02T15:04:05.999999999Z07:00")
		u42 := all.Resources[42]

		rt := schemas.Users()
		filters := []string{
			`userName eq "USER010@example.com"`, `userName eq "user010@b.net"`, `userName eq "nobody"`,
			fmt.Sprintf(`userName eq %q`, u42.Attributes["userName"]),
			`userName sw "user01"`, `userName sw "USER2"`, `userName gt "user150"`, `userName ge "User150@b.net"`,
			`userName lt "user020"`, `userName le "user020@example.com"`, `userName pr`, `userName co "05"`,
			`userName ew ".NET"`, `userName ne "user001@b.net"`,
			`externalId eq "ext-1"`, `externalId eq "EXT-1"`, `externalId eq ""`, `externalId sw "e"`, `externalId pr`,
			`externalId gt "B"`, `externalId lt "b"`, `externalId le "A"`, `externalId ge ""`,
			`emails.value eq "a0@example.com"`, `emails.value sw "b"`, `emails.value pr`, `emails.value gt "c"`,
			`emails eq "A1@B.NET"`, `emails pr`, `emails[value sw "a"]`, `emails[value sw "a" and type eq "work"]`,
			`emails[type eq "work"]`, `emails[type eq "work"].value ew "net"`, `emails[not (value sw "a")]`,
			`name.givenName eq "anna"`, `name.givenName eq "ÉMILE"`, `name.givenName gt "m"`, `name.givenName pr`,
			`name.givenName sw "z"`, `name.familyName le "n"`, `name.familyName eq "o'brien"`, `name pr`,
			`displayName pr`, `displayName sw "a"`, `displayName eq "B3"`, `displayName lt "C"`,
			`active eq true`, `active eq false`, `active pr`, `active ne true`, `active eq null`,
			`active ne false`, `active ne null`, `not (active pr)`, `not (active eq false)`,
			`not (active pr) or userName sw "user1"`, `active ne false and displayName pr`,
			`not (active pr) and (externalId pr or name.familyName gt "n")`, // an "or" is no driver
			`active ne true and (userName sw "user1" or userName sw "user2")`,
			fmt.Sprintf(`meta.created gt %q`, created100), fmt.Sprintf(`meta.created le %q`, created100),
			fmt.Sprintf(`meta.created eq %q`, created100), fmt.Sprintf(`meta.lastModified ge %q`, mod50),
			fmt.Sprintf(`meta.lastModified lt %q`, mod50), `meta.created gt "2000-01-01T00:00:00+02:00"`,
			`meta.created pr`,
			`userName sw "user0" and active eq true`, `active eq true and name.givenName eq "anna"`,
			`externalId eq "ext-1" or emails.value sw "a"`, `userName sw "user1" or displayName co "1"`,
			`not (active eq true)`, `(userName sw "user0" or userName sw "user2") and active eq false`,
			`userName sw "user0" and not (externalId pr)`,
			`userName eq "USER010@example.com" and active pr`, `active pr and userName eq "user011@b.net"`,
			`(userName eq "user012@example.com" or userName eq "user013@b.net") and displayName pr`,
			`(externalId eq "ext-1" and active eq true) and (displayName pr and name.givenName pr)`,
			`(externalId eq "ext-1" or externalId eq "A") and (emails.value sw "a" or emails.value sw "b")`, `active eq true and active eq false`,
			`(emails.value sw "a" or emails.value sw "b") and (name.familyName eq "ng" or displayName pr)`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`,
			`groups.value eq "` + g.ID + `"`, `groups.display eq "staff" and userName sw "user00"`,
			`id eq "` + ids[5] + `"`,
			// co and ew narrowed by the indexes' entries (narrow.go).
			`name.familyName co "MIT"`, `name.givenName co "é"`, `name.givenName ew "E"`, `externalId co "ext"`,
			`externalId ew "1"`, `emails.value co "1@"`, `emails co "B.NET"`, `displayName ew "3"`, `userName co ""`,
			`userName co "05" and displayName ne "B3"`, `name.familyName co "mit" or emails.value ew ".org"`,
			`userName co "1" and name.givenName ew "a"`, `emails[value co "a" and type eq "work"]`,
			`emails[type eq "work"].value co "example"`, `displayName co "1" and not (name.familyName co "s")`,
			`(userName co "2" or externalId co "2") and active eq false`,
		}
		for _, f := range filters {
			e, err := resources.ParseFilter(rt, f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			var want []string
			for _, u := range all.Resources {
				if resources.Match(resources.Document(rt, u, ""), e) {
					want = append(want, u.ID)
				}
			}
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: n})
			if err != nil {
				t.Fatalf("ListUsers(%s): %v", f, err)
			}
			var got []string
			for _, u := range page.Resources {
				got = append(got, u.ID)
			}
			// Results come in the order of the plan (an index's, or
			// creation): the same set as the brute force, in any order.
			if page.Total != len(want) || !sameSet(got, want) {
				t.Errorf("ListUsers(%s): total %d, ids %v\nwant total %d, ids %v", f, page.Total, got, len(want), want)
				continue
			}
			want = slices.Clone(got)
			// Totals only, and a page from the middle.
			page, err = s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 0})
			if err != nil || page.Total != len(want) || len(page.Resources) != 0 {
				t.Errorf("ListUsers(%s, count 0) = total %d, %d resources, %v; want total %d, none", f, page.Total, len(page.Resources), err, len(want))
			}
			page, err = s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 3, Count: 4})
			got = got[:0]
			for _, u := range page.Resources {
				got = append(got, u.ID)
			}
			wantPage := want[min(2, len(want)):min(6, len(want))]
			if err != nil || page.Total != len(want) || !slices.Equal(got, wantPage) {
				t.Errorf("ListUsers(%s, start 3, count 4) = total %d, %v, %v; want total %d, %v", f, page.Total, got, err, len(want), wantPage)
			}
		}
	})
}

func TestListPaging(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for i := range 12 {
			ids = append(ids, mustCreateUser(t, s, user(fmt.Sprintf("u%02d@example.com", i))).ID)
		}
		for _, tc := range []struct{ start, count, from, to int }{
			{1, 5, 0, 5}, {0, 5, 0, 5}, {11, 5, 10, 12}, {13, 5, 12, 12}, {1, 0, 0, 0}, {4, 100, 3, 12},
		} {
			page, err := s.ListUsers(ctx, org, resources.Query{StartIndex: tc.start, Count: tc.count})
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			var got []string
			for _, u := range page.Resources {
				got = append(got, u.ID)
			}
			if page.Total != 12 || !slices.Equal(got, ids[tc.from:tc.to]) {
				t.Errorf("ListUsers(start %d, count %d) = total %d, %v; want 12, %v", tc.start, tc.count, page.Total, got, ids[tc.from:tc.to])
			}
		}
	})
}

func TestScanLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 6 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i)))
		}
		s.MaxScan = 5
		e, _ := resources.ParseFilter(schemas.Users(), `userName co "3"`, "")
		_, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10})
		wantCode(t, "ListUsers needing a scan", err, resources.TooMany)
		if !strings.Contains(err.Error(), "more than 5 users") {
			t.Errorf("scan error = %v, want it to name the bound", err)
		}
		e, _ = resources.ParseFilter(schemas.Users(), `userName sw "u3" and userName co "3"`, "")
		if page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10}); err != nil || page.Total != 1 {
			t.Errorf("ListUsers with an indexed side = %d, %v; want 1 match", page.Total, err)
		}
		// An indexed side matching more than the bound is streamed from its
		// index, bounded by the work budget rather than by MaxScan.
		e, _ = resources.ParseFilter(schemas.Users(), `userName sw "u" and nickName eq "x"`, "")
		if page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10}); err != nil || page.Total != 0 {
			t.Errorf("ListUsers with 6 candidates = %d, %v; want no match", page.Total, err)
		}
		s.MaxFilterWork = 11 // 6 candidates × 2 comparisons
		_, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10})
		wantCode(t, "ListUsers with 6 candidates over the work budget", err, resources.TooMany)
		if !strings.Contains(err.Error(), "userName") {
			t.Errorf("work budget error = %v, want it to name an indexed attribute", err)
		}
	})
}

func TestListGroups(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("one@example.com"))
		rt := schemas.Groups()
		var all []resources.Resource
		for i, name := range []string{"Admins", "admins-eu", "Staff", "Sales", "R&D"} {
			g := group(name)
			if i%2 == 0 {
				g.Members = []resources.Ref{{ID: u.ID}}
			}
			if i < 3 {
				g.Attributes["externalId"] = fmt.Sprint("X", i)
			}
			all = append(all, mustCreateGroup(t, s, g))
		}
		for _, f := range []string{`displayName eq "ADMINS"`, `displayName sw "s"`, `displayName gt "r"`, `externalId pr`,
			`externalId eq "x1"`, `externalId eq "X1"`, `members.value eq "` + u.ID + `"`, `displayName co "a"`,
			`displayName sw "a" and members pr`, `not (members pr)`} {
			e, err := resources.ParseFilter(rt, f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			var want []string
			for _, g := range all {
				g, _ := s.GetGroup(ctx, org, g.ID, true)
				if resources.Match(resources.Document(rt, g, ""), e) {
					want = append(want, g.ID)
				}
			}
			for _, withMembers := range []bool{false, true} {
				page, err := s.ListGroups(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 10, WithMembers: withMembers})
				if err != nil {
					t.Fatalf("ListGroups(%s): %v", f, err)
				}
				var got []string
				for _, g := range page.Resources {
					got = append(got, g.ID)
					if (g.Members != nil) != withMembers {
						t.Errorf("ListGroups(%s, withMembers %v): members %v", f, withMembers, g.Members)
					}
				}
				if page.Total != len(want) || !sameSet(got, want) {
					t.Errorf("ListGroups(%s) = total %d, %v; want %d, %v", f, page.Total, got, len(want), want)
				}
			}
		}
	})
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
