package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestNarrowedScan checks co and ew answered from the indexes' entries
// (narrow.go): the scan's answer in the scan's order, documents read only
// for candidates, and the scan itself past MaxScan entries.
func TestNarrowedScan(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		families := []string{"Smith", "Goldsmith", "Jones", "SMITHERS", "Ng"}
		const n = 30
		var ids []string
		for i := range n {
			emails := []any{
				map[string]any{"value": fmt.Sprintf("u%d@home.example", i), "type": "home"},
				map[string]any{"value": fmt.Sprintf("u%d@work.example", i), "type": "work"},
			}
			u := user(fmt.Sprintf("u%02d@example.com", i), "name", map[string]any{"familyName": families[i%len(families)]}, "emails", emails)
			ids = append(ids, mustCreateUser(t, s, u).ID)
		}
		// One renamed, one deleted: the entries followed.
		u, err := s.GetUser(ctx, org, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		u.Attributes["name"] = map[string]any{"familyName": "Smithson"}
		if _, err := s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, org, ids[5], 0); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: n}) // creation order
		if err != nil {
			t.Fatal(err)
		}
		list := func(f string, start, count int) (resources.Page, error) {
			e, err := resources.ParseFilter(schemas.Users(), f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			return s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: start, Count: count})
		}
		// want is every match in creation order.
		want := func(f string) []string {
			e, _ := resources.ParseFilter(schemas.Users(), f, "")
			var out []string
			for _, u := range all.Resources {
				if resources.Match(resources.Document(schemas.Users(), u, ""), e) {
					out = append(out, u.ID)
				}
			}
			return out
		}
		pageIDs := func(p resources.Page) []string {
			out := []string{}
			for _, u := range p.Resources {
				out = append(out, u.ID)
			}
			return out
		}

		// Exact narrowings read no document but the page's (none for a
		// total), and charge no comparison to the work budget.
		s.MaxFilterWork = 1
		for _, f := range []string{`name.familyName co "SMITH"`, `name.familyName ew "s"`, `emails.value co "@work"`,
			`name.familyName co "smith" or userName ew "7@example.com"`} {
			w := want(f)
			if len(w) == 0 {
				t.Fatalf("%s matches nobody: the test data changed", f)
			}
			got, err := list(f, 1, n)
			if err != nil || got.Total != len(w) || !slices.Equal(pageIDs(got), w) {
				t.Errorf("%s = total %d, %v, %v; want total %d, %v (creation order)", f, got.Total, pageIDs(got), err, len(w), w)
			}
			reads := &docReads{}
			s.client.AddHook(reads)
			got, err = list(f, 1, 0)
			if err != nil || got.Total != len(w) || reads.n.Load() != 0 {
				t.Errorf("%s, count 0 = total %d, %v, after %d reads of documents; want total %d, none read", f, got.Total, err, reads.n.Load(), len(w))
			}
			// Sorted: the same matches, in the sort's order.
			e, _ := resources.ParseFilter(schemas.Users(), f, "")
			byName, _ := resources.ParseSort(schemas.Users(), "userName", "descending")
			got, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Sort: byName, StartIndex: 1, Count: n})
			if err != nil || got.Total != len(w) || !sameSet(pageIDs(got), w) ||
				!slices.IsSortedFunc(got.Resources, func(a, b resources.Resource) int {
					return strings.Compare(b.Attributes["userName"].(string), a.Attributes["userName"].(string))
				}) {
				t.Errorf("%s sorted by userName descending = total %d, %v, %v; want total %d, %v in that order", f, got.Total, pageIDs(got), err, len(w), w)
			}
			// By cursor: every match once, in creation order.
			var walked []string
			var sk resources.Seek
			for range n {
				got, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 4, Seek: &sk})
				if err != nil {
					t.Fatalf("%s by cursor: %v", f, err)
				}
				walked = append(walked, pageIDs(got)...)
				if !got.Next {
					break
				}
				sk = resources.Seek{From: &got.Positions[len(got.Positions)-1]}
			}
			if !slices.Equal(walked, w) {
				t.Errorf("%s by cursor = %v, want %v", f, walked, w)
			}
			got, err = list(f, 2, 2)
			if err != nil || got.Total != len(w) || !slices.Equal(pageIDs(got), w[1:min(3, len(w))]) {
				t.Errorf("%s from 2, 2 = total %d, %v, %v; want total %d, %v", f, got.Total, pageIDs(got), err, len(w), w[1:min(3, len(w))])
			}
		}

		// Candidates are checked on their documents, and only they are
		// charged: the 17 users whose family name holds "smith", not the
		// scan's 29; for an "and" of two narrowed sides, the 3 of both.
		for _, c := range []struct {
			f, narrowed         string
			candidates, matches int
		}{
			{`name.familyName co "smith" and userName ne "u00@example.com"`, `name.familyName co "smith"`, 17, 16},
			{`name.familyName co "smith" and emails ew "1@home.example"`, `name.familyName co "smith" and emails ew "1@home.example"`, 3, 3},
		} {
			e, _ := resources.ParseFilter(schemas.Users(), c.f, "")
			terms, candidates := resources.FilterTerms(e), len(want(c.narrowed))
			w := want(c.f)
			if candidates != c.candidates || len(w) != c.matches {
				t.Fatalf("%s: %d candidates, %d matches: the test data changed", c.f, candidates, len(w))
			}
			s.MaxFilterWork = terms * candidates
			got, err := list(c.f, 1, n)
			if err != nil || got.Total != len(w) || !slices.Equal(pageIDs(got), w) {
				t.Errorf("%s = total %d, %v, %v; want total %d, %v", c.f, got.Total, pageIDs(got), err, len(w), w)
			}
			s.MaxFilterWork = terms*candidates - 1
			_, err = list(c.f, 1, n)
			wantCode(t, c.f+" over the work budget", err, resources.TooMany)
		}

		// More entries than MaxScan (58 emails), fewer users (29): the scan
		// answers, reading every document.
		s.MaxFilterWork = DefaultMaxFilterWork
		s.MaxScan = 40
		f := `emails.value co "1@"`
		w := want(f)
		got, err := list(f, 1, n)
		if err != nil || got.Total != len(w) || !slices.Equal(pageIDs(got), w) {
			t.Errorf("%s past MaxScan entries = total %d, %v, %v; want total %d, %v", f, got.Total, pageIDs(got), err, len(w), w)
		}
		s.MaxFilterWork = 29 // the scan's 29 documents, one comparison each
		if _, err := list(f, 1, n); err != nil {
			t.Errorf("%s past MaxScan entries within the scan's budget: %v", f, err)
		}
		s.MaxFilterWork = 28
		_, err = list(f, 1, n)
		wantCode(t, f+" past MaxScan entries, scanned over the budget", err, resources.TooMany)
		s.MaxFilterWork = DefaultMaxFilterWork
		s.MaxScan = DefaultMaxScan

	})
}

// TestNarrowedAndChecksDocuments: the two sides of an "and" are read from
// their indexes one after the other; a user changed between the two reads
// from (Smith, Xavier) to (Jones, Bob) is in both sets but never matched
// both sides, and is not returned.
func TestNarrowedAndChecksDocuments(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("a@example.com", "name", map[string]any{"familyName": "Smith", "givenName": "Xavier"}))
		mustCreateUser(t, s, user("b@example.com", "name", map[string]any{"familyName": "Smith", "givenName": "Bobby"}))
		f := `name.familyName co "smith" and name.givenName co "bob"`
		e, err := resources.ParseFilter(schemas.Users(), f, "")
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		s.client.AddHook(beforeCommand{func(c redis.Cmder) {
			if changed || c.Name() != "zrangebylex" || !strings.Contains(fmt.Sprint(c.Args()[1]), "name.givenName") {
				return
			}
			changed = true
			cur, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			cur.Attributes["name"] = map[string]any{"familyName": "Jones", "givenName": "Bob"}
			if _, err := s.ReplaceUser(ctx, org, cur, cur.Version, resources.UserWrite{}); err != nil {
				t.Fatal(err)
			}
		}})
		got, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 10})
		if !changed {
			t.Fatal("the givenName index was not read: the test no longer reaches narrow.go")
		}
		if err != nil || got.Total != 1 || len(got.Resources) != 1 || got.Resources[0].Attributes["userName"] != "b@example.com" {
			t.Errorf("%s with the user changed between the reads = %+v, %v; want only b@example.com", f, got, err)
		}
	})
}

// TestNarrowedAndSkipsEmptySide: an "and" whose first narrowed side has no
// id does not read its other side's index.
func TestNarrowedAndSkipsEmptySide(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustCreateUser(t, s, user("a@example.com", "name", map[string]any{"familyName": "Smith"}))
		read := map[string]int{}
		s.client.AddHook(beforeCommand{func(c redis.Cmder) {
			if c.Name() == "zrangebylex" {
				read[fmt.Sprint(c.Args()[1])]++
			}
		}})
		for f, want := range map[string]int{`name.familyName co "jones" and userName co "a"`: 0, `name.familyName co "smith" and userName co "a"`: 1} {
			clear(read)
			e, _ := resources.ParseFilter(schemas.Users(), f, "")
			got, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 10})
			if err != nil || got.Total != want {
				t.Fatalf("%s = total %d, %v; want %d", f, got.Total, err, want)
			}
			p, _ := prefix(org)
			if read[p+"ix:user:name.familyName"] != 1 || read[p+"ix:user:userName"] != want {
				t.Errorf("%s read the indexes %v; want familyName's once, userName's %d times", f, read, want)
			}
		}
	})
}

// beforeCommand is a go-redis hook that calls before with each command
// sent on its own, before it is sent.
type beforeCommand struct{ before func(redis.Cmder) }

func (beforeCommand) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h beforeCommand) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error {
		h.before(c)
		return next(ctx, c)
	}
}
func (beforeCommand) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
