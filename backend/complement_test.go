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

// TestNotOfIndex: a "not" of an exact filter is the complement of its
// matches in creation order, however many users it keeps (MaxScan is
// less than the users),
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
		s.MaxScan = 25     // the inner matches (their estimate: at most 24), not the 50 users
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

// TestNotBoundedBeforeRead: a "not" whose inner filter matches more than
// MaxScan users fails with TooMany, saying what to do, before it reads the
// ids it would leave out (a million of them once blocked Redis for half a
// second per try, and the request ended in a 503 after 22 s), and changes
// nothing; within MaxScan it is answered.
func TestNotBoundedBeforeRead(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		for i := range 12 {
			mustCreateUser(t, s, user(fmt.Sprintf("w%02d@x.io", i)))
		}
		mustCreateUser(t, s, user("z@x.io"))
		reads := &sentCommands{}
		hookAll(s, reads)
		s.MaxScan = 10
		for _, f := range []string{`not (userName sw "w")`, `not (userName sw "w" or userName eq "z@x.io")`} {
			e, err := resources.ParseFilter(schemas.Users(), f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			_, err = s.ListUsers(context.Background(), org, resources.Query{Filter: e, StartIndex: 1, Count: 5})
			wantCode(t, "ListUsers("+f+")", err, resources.TooMany)
			if err == nil || !strings.Contains(err.Error(), "leaves out") || !strings.Contains(err.Error(), "instead of \"not\"") {
				t.Errorf("ListUsers(%s) with MaxScan 10 = %v; want TooMany saying what it leaves out and what to do instead", f, err)
			}
		}
		if got := reads.unbounded("ix:user:userName"); len(got) > 0 {
			t.Errorf("refused filters read the index unbounded: %q", got)
		}
		// Within MaxScan, the ids are read in batches of idBatch, each
		// range on from where its last batch ended.
		s.MaxScan = 12
		defer func(n int) { idBatch = n }(idBatch)
		idBatch = 5
		for _, f := range []string{`not (userName sw "w")`, `not (userName sw "w0" or userName sw "w1")`} {
			total, got := filteredPage(t, s, f, 1, 5, func(r resources.Resource) string { return fmt.Sprint(r.Attributes["userName"]) })
			if total != 1 || !slices.Equal(got, []string{"z@x.io"}) {
				t.Errorf("%s with MaxScan 12, in batches of 5 = %d, %v; want 1, [z@x.io]", f, total, got)
			}
		}
		if got := reads.unbounded("ix:user:userName"); len(got) > 0 {
			t.Errorf("the ids were read unbounded: %q", got)
		}
	})
}
