package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestSearchUsers compares both plans of SearchUsers, in batches smaller
// than the data, with the answer worked out here: the users that match a
// term, newest first, and their number.
func TestSearchUsers(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		type person struct{ id, userName, given, family string }
		var people []person // oldest first
		givens := []string{"Ada", "Alan", "Grace", "Wendy", "Walt"}
		for i := range 23 {
			p := person{userName: fmt.Sprintf("w%02d@example.com", i), given: givens[i%len(givens)], family: fmt.Sprintf("Wa%02d", i%7)}
			if i%4 == 0 {
				p.userName = fmt.Sprintf("ada%02d@example.com", i)
			}
			p.id = mustCreateUser(t, s, user(p.userName, "name", map[string]any{"givenName": p.given, "familyName": p.family})).ID
			people = append(people, p)
		}
		// One user with two emails starting alike: named once.
		twice := mustCreateUser(t, s, user("q@example.com", "emails", []any{
			map[string]any{"value": "qx@example.com"}, map[string]any{"value": "qx2@example.com"}})).ID
		cases := []struct {
			name  string
			terms [][]resources.Prefix
			match func(p person) bool
		}{
			{"broad", [][]resources.Prefix{{{Attr: "userName", Value: "W"}}, {{Attr: "name.givenName", Value: "w"}}, {{Attr: "name.familyName", Value: "w"}}},
				func(p person) bool { return true }},
			{"overlapping", [][]resources.Prefix{{{Attr: "userName", Value: "ada"}}, {{Attr: "name.givenName", Value: "ada"}}},
				func(p person) bool { return strings.HasPrefix(p.userName, "ada") || p.given == "Ada" }},
			{"two words", [][]resources.Prefix{{{Attr: "name.givenName", Value: "wa"}, {Attr: "name.familyName", Value: "wa03"}}},
				func(p person) bool { return p.given == "Walt" && p.family == "Wa03" }},
			{"none", [][]resources.Prefix{{{Attr: "userName", Value: "zz"}}}, func(p person) bool { return false }},
		}
		ctx := context.Background()
		for _, plan := range []string{"walk", "ranges"} {
			s.search = searchTuning{batch: 4, plan: plan}
			for _, c := range cases {
				var want []string
				for i := len(people) - 1; i >= 0; i-- {
					if c.match(people[i]) {
						want = append(want, people[i].userName)
					}
				}
				for _, w := range []struct{ offset, count int }{{0, 5}, {5, 5}, {20, 5}, {0, 100}} {
					pg, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: c.terms, Offset: w.offset, Count: w.count})
					if err != nil {
						t.Fatalf("%s %s: SearchUsers: %v", plan, c.name, err)
					}
					var got []string
					for _, r := range pg.Resources {
						i := slices.IndexFunc(people, func(p person) bool { return p.id == r.ID })
						if i < 0 {
							t.Fatalf("%s %s: SearchUsers returned %s, not a person", plan, c.name, r.ID)
						}
						got = append(got, people[i].userName)
					}
					lo, hi := min(w.offset, len(want)), min(w.offset+w.count, len(want))
					if strings.Join(got, ",") != strings.Join(want[lo:hi], ",") || pg.Total != len(want) {
						t.Errorf("%s %s %+v: SearchUsers = %v of %d, want %v of %d", plan, c.name, w, got, pg.Total, want[lo:hi], len(want))
					}
				}
			}
			pg, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: [][]resources.Prefix{{{Attr: "emails.value", Value: "qx"}}}, Count: 5})
			if err != nil || pg.Total != 1 || len(pg.Resources) != 1 || pg.Resources[0].ID != twice {
				t.Errorf("%s: search of a user by two emails = %+v, %v, want the user once", plan, pg, err)
			}
		}
		// Without terms: every user, newest first, with its groups.
		everyone := []string{twice}
		for i := len(people) - 1; i >= 0; i-- {
			everyone = append(everyone, people[i].id)
		}
		mustCreateGroup(t, s, group("Searched", people[len(people)-1].id))
		for _, w := range []struct{ offset, count int }{{0, 5}, {5, 5}, {22, 5}, {24, 5}, {0, 100}, {3, 0}} {
			pg, err := s.SearchUsers(ctx, org, resources.UserSearch{Offset: w.offset, Count: w.count})
			if err != nil {
				t.Fatalf("everyone %+v: SearchUsers: %v", w, err)
			}
			var got []string
			for _, r := range pg.Resources {
				got = append(got, r.ID)
				want := 0
				if r.ID == people[len(people)-1].id {
					want = 1
				}
				if len(r.Groups) != want {
					t.Errorf("everyone %+v: user %s has groups %v, want %d", w, r.ID, r.Groups, want)
				}
			}
			lo, hi := min(w.offset, len(everyone)), min(w.offset+w.count, len(everyone))
			if strings.Join(got, ",") != strings.Join(everyone[lo:hi], ",") || pg.Total != len(everyone) {
				t.Errorf("everyone %+v: SearchUsers = %v of %d, want %v of %d", w, got, pg.Total, everyone[lo:hi], len(everyone))
			}
		}
		for _, q := range []resources.UserSearch{{Offset: -5, Count: 5}, {Terms: [][]resources.Prefix{{{Attr: "userName", Value: "w"}}}, Offset: -5, Count: 5}, {Count: -1}} {
			if _, err := s.SearchUsers(ctx, org, q); resources.ErrorCode(err) != resources.InvalidValue {
				t.Errorf("SearchUsers(%+v) = %v, want InvalidValue", q, err)
			}
		}
		if _, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: [][]resources.Prefix{{{Attr: "password", Value: "x"}}}, Count: 5}); resources.ErrorCode(err) != resources.InvalidValue {
			t.Errorf("search by an attribute with no index = %v, want InvalidValue", err)
		}
	})
}
