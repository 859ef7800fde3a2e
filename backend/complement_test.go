package backend

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestNotOfIndex: a "not" of an exact filter is the complement of its
// matches in creation order, whatever their number (MaxScan is small),
// its total the users' less the matches, pages read by rank however deep;
// the same by cursor, both ways.
func TestNotOfIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		var all, kept []string
		for i := range 50 {
			var extra []any
			switch {
			case i%10 == 3:
				extra = []any{"externalId", "X"}
			case i%2 == 0:
				extra = []any{"externalId", "Y"}
			}
			r := mustCreateUser(t, s, user(fmt.Sprintf("u%02d@x.io", i), append(extra, "emails", []any{map[string]any{"value": fmt.Sprintf("m%d@x.io", i%4)}, map[string]any{"value": fmt.Sprintf("n%d@x.io", i%4)}})...))
			all = append(all, r.ID)
			if i%10 != 3 {
				kept = append(kept, r.ID)
			}
		}
		for _, i := range []int{0, 13, 20} { // a match deleted, two others
			if err := s.DeleteUser(context.Background(), org, all[i], 0); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			kept = slices.DeleteFunc(kept, func(id string) bool { return id == all[i] })
		}
		s.MaxScan = 5
		var notM1 []string // users without m1@x.io: i%4 != 1
		for i, id := range all {
			if i%4 != 1 && i != 0 && i != 13 && i != 20 {
				notM1 = append(notM1, id)
			}
		}
		for _, tc := range []struct {
			filter       string
			start, count int
			total        int
			want         []string
		}{
			// Users without an externalId are in the complement too.
			{`not (externalId eq "X")`, 1, 100, 43, kept},
			{`not (externalId eq "X")`, 30, 4, 43, kept[29:33]},
			{`not (externalId eq "X")`, 40, 10, 43, kept[39:]},
			{`not (externalId eq "X")`, 44, 10, 43, nil},
			{`not (userName eq "u05@x.io")`, 5, 2, 46, []string{all[6], all[7]}},
			{`not (emails.value eq "m1@x.io")`, 1, 100, len(notM1), notM1},
			{`not (emails sw "m1" or emails sw "n1")`, 3, 3, len(notM1), notM1[2:5]},
		} {
			total, got := filteredPage(t, s, tc.filter, tc.start, tc.count, func(r resources.Resource) string { return r.ID })
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Errorf("ListUsers(%s, start %d, count %d) = total %d, %v; want %d, %v", tc.filter, tc.start, tc.count, total, got, tc.total, tc.want)
			}
		}
		e, err := resources.ParseFilter(schemas.Users(), `not (externalId eq "X")`, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 4, 50} {
			forward, backward := seekWalk(t, s, resources.Query{Filter: e}, size, len(kept))
			if !slices.Equal(forward, kept) || !slices.Equal(backward, kept) {
				t.Errorf("cursor walk by %d = %v\nback %v\nwant %v", size, forward, backward, kept)
			}
		}
	})
}
