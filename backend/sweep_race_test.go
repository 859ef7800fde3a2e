package backend

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestSweepAndPurgeBatches: a substring sweep (substring.go) and a purge of
// a removed custom attribute (extensions.go) both rewrite users' index
// entries in batches, each read in Go and written by a script that checks
// the user's version, which neither changes. Whichever comes between the
// other's read and its script, the store stays consistent: the purged
// attribute's entries stay gone, the trigrams stay in the users' entries.
func TestSweepAndPurgeBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		p, _ := prefix(org)
		customFixture(t, s) // two users, a purge of checkURN's "gone" pending
		gone := p + "ix:user:" + checkURN + ":gone"
		if n, _ := s.client.ZCard(ctx, gone).Result(); n != 2 {
			t.Fatalf("%d entries of the attribute to purge; want 2 (the fixture changed)", n)
		}
		// A purge batch (not the last: the purge stays pending) between the
		// sweep's read and its script.
		ran := false
		substringBatchHook = func() {
			if ran {
				return
			}
			ran = true
			pending, err := s.client.HGetAll(ctx, p+"exts:purge").Result()
			if err != nil || len(pending) != 1 {
				t.Fatalf("pending purges %v, %v; want one", pending, err)
			}
			users, err := s.client.ZRangeWithScores(ctx, p+"all:user", 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u.Member.(string))
			}
			for field, raw := range pending {
				var st purgeState
				if err := json.Unmarshal([]byte(raw), &st); err != nil {
					t.Fatal(err)
				}
				// Its state moves past these users, as a batch's does: the
				// purge does not come back to them.
				st.After = int64(users[len(users)-1].Score)
				next, _ := json.Marshal(st)
				if skipped, err := s.purgeBatch(ctx, p, field, st.Target, ids, string(next)); err != nil || len(skipped) > 0 {
					t.Fatalf("purge batch: skipped %v, %v", skipped, err)
				}
			}
		}
		defer func() { substringBatchHook = nil }()
		if _, err := s.SetSubstringSearch(ctx, org, []string{"userName"}); err != nil {
			t.Fatal(err)
		}
		if !ran {
			t.Fatal("the sweep ran no batch")
		}
		if _, err := s.PurgeExtensions(ctx, org); err != nil {
			t.Fatalf("PurgeExtensions: %v", err)
		}
		if n, _ := s.client.ZCard(ctx, gone).Result(); n != 0 {
			t.Errorf("%d entries of the purged attribute left after a sweep batch", n)
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Errorf("sweep batch around a purge batch: findings:\n%s", findingLines(got))
		}
	})
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		customFixture(t, s)
		// The whole sweep between the purge's read and its script.
		ran := false
		purgeBatchHook = func() {
			if ran {
				return
			}
			ran = true
			if _, err := s.SetSubstringSearch(ctx, org, []string{"userName"}); err != nil {
				t.Fatal(err)
			}
		}
		defer func() { purgeBatchHook = nil }()
		if _, err := s.PurgeExtensions(ctx, org); err != nil {
			t.Fatalf("PurgeExtensions: %v", err)
		}
		if !ran {
			t.Fatal("the purge ran no batch")
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Errorf("purge batch around a sweep: findings:\n%s", findingLines(got))
		}
		list := func(f string) int {
			_, total, err := listFilter(t, s, nil, f)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			return total
		}
		if n := list(`userName co "ann"`); n != 1 {
			t.Errorf(`userName co "ann" = %d users; want 1`, n)
		}
	})
}
