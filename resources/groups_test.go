package resources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// countingGroups is a GroupStore holding one group; it counts the scans of
// its members and the batches it gave, and keeps the last delta written.
// Reading every member at once (GetGroup with members) fails the test: a
// reader's memory must not grow with the group.
type countingGroups struct {
	GroupStore // not called
	tb         testing.TB
	members    []string
	batch      int // members per batch of ScanMembers; 0: all in one
	scans      int
	batches    int
	onBatch    func() // called before each batch is given, when set
	uncounted  int    // members MemberCount leaves out (added since)
	delta      *MemberDelta
}

func (s *countingGroups) GetGroup(_ context.Context, _, id string, withMembers bool) (Resource, error) {
	if withMembers {
		s.tb.Errorf("GetGroup(%s, withMembers) read every member at once", id)
	}
	return Resource{ID: id, Version: 1, Attributes: map[string]any{"displayName": "G"}}, nil
}

func (s *countingGroups) ScanMembers(ctx context.Context, _, _ string, fn func([]Ref) error) error {
	s.scans++
	n := s.batch
	if n == 0 {
		n = max(len(s.members), 1)
	}
	for start := 0; start < len(s.members); start += n {
		if s.onBatch != nil {
			s.onBatch()
		}
		var batch []Ref
		for _, m := range s.members[start:min(start+n, len(s.members))] {
			batch = append(batch, Ref{ID: m})
		}
		s.batches++
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

func (s *countingGroups) MemberCount(context.Context, string, string) (int, error) {
	return len(s.members) - s.uncounted, nil
}

func (s *countingGroups) MembersAmong(_ context.Context, _, _ string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = slices.Contains(s.members, id)
	}
	return out, nil
}

func (s *countingGroups) UpdateGroup(_ context.Context, _ string, g Resource, _ int64, d MemberDelta) (Resource, error) {
	s.delta = &d
	return g, nil
}

// TestGroupPatchReadsMembersOnce: the members that filters other than
// "value eq" are evaluated on are read once per PATCH, in one pass (never
// all at once), however many operations need them.
func TestGroupPatchReadsMembersOnce(t *testing.T) {
	store := &countingGroups{tb: t, members: []string{"a1", "a2", "b1", "b2"}, batch: 3}
	ops := patchOps(t, `[
		{"op":"remove","path":"members[value sw \"a\"]"},
		{"op":"remove","path":"members[value ew \"2\"]"},
		{"op":"remove","path":"members[not (value sw \"x\")]"},
		{"op":"add","path":"members","value":[{"value":"c1"}]}
	]`)
	if _, err := NewGroups(store).Patch(t.Context(), "acme", "g1", ops, 0); err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if store.scans != 1 {
		t.Errorf("Patch of %d operations scanned the members %d times, want once", len(ops), store.scans)
	}
	if store.delta == nil {
		t.Fatal("Patch wrote nothing")
	}
	slices.Sort(store.delta.Remove)
	if want := []string{"a1", "a2", "b1", "b2"}; !slices.Equal(store.delta.Remove, want) || !slices.Equal(store.delta.Add, []string{"c1"}) {
		t.Errorf("Patch wrote delta %+v, want Remove %v and Add [c1]", store.delta, want)
	}
}

// memberIDsN returns n member ids.
func memberIDsN(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%05d", i)
	}
	return ids
}

// orTerms returns a filter of n comparisons "<sub> <op> \"zzN\"" joined by
// "or", escaped for a JSON string.
func orTerms(sub, op string, n int) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = fmt.Sprintf(`%s %s \"zz%d\"`, sub, op, i)
	}
	return strings.Join(terms, " or ")
}

// TestGroupPatchMemberFilterBudget: member filters other than "value eq"
// cost their comparisons times the group's members, charged to the
// request's one budget batch by batch before each is evaluated: past it the
// PATCH is TooMany, writes nothing, and stops scanning. "value eq" filters
// cost no scan, however many operations carry them.
func TestGroupPatchMemberFilterBudget(t *testing.T) {
	t.Run("over the budget", func(t *testing.T) {
		store := &countingGroups{tb: t, members: memberIDsN(50_000), batch: 1000}
		g := NewGroups(store)
		g.filterWork = 20_000
		// Parsing costs 2 x 2 x 500 = 2000, evaluating 50,000 members x
		// 4 comparisons: over before any member is read.
		ops := patchOps(t, `[
			{"op":"remove","path":"members[`+orTerms("value", "co", 2)+`]"},
			{"op":"remove","path":"members[`+orTerms("value", "sw", 2)+`]"}
		]`)
		_, err := g.Patch(t.Context(), "acme", "g1", ops, 0)
		checkErr(t, err, TooMany, `"value eq"`)
		if store.delta != nil {
			t.Errorf("refused Patch wrote %+v", *store.delta)
		}
		if store.batches != 0 {
			t.Errorf("refused Patch read %d batches of members, want none", store.batches)
		}
	})
	t.Run("members added during the scan", func(t *testing.T) {
		// MemberCount says 3000 (12,000 + 2000 to parse fit), the scan
		// finds 50,000: charged as their batches come, the fifth is over.
		store := &countingGroups{tb: t, members: memberIDsN(50_000), uncounted: 47_000, batch: 1000}
		g := NewGroups(store)
		g.filterWork = 20_000
		ops := patchOps(t, `[
			{"op":"remove","path":"members[`+orTerms("value", "co", 2)+`]"},
			{"op":"remove","path":"members[`+orTerms("value", "sw", 2)+`]"}
		]`)
		_, err := g.Patch(t.Context(), "acme", "g1", ops, 0)
		checkErr(t, err, TooMany, `"value eq"`)
		if store.delta != nil || store.batches != 5 {
			t.Errorf("refused Patch read %d batches and wrote %v, want 5 batches (3 counted, one more fits) and nothing", store.batches, store.delta)
		}
	})
	t.Run("within the budget", func(t *testing.T) {
		store := &countingGroups{tb: t, members: memberIDsN(5000), batch: 1000}
		g := NewGroups(store)
		g.filterWork = 20_000
		ops := patchOps(t, `[{"op":"remove","path":"members[`+orTerms("value", "co", 2)+` or value ew \"7\"]"}]`)
		if _, err := g.Patch(t.Context(), "acme", "g1", ops, 0); err != nil {
			t.Fatalf("Patch(%d members x 3 comparisons, budget 20,000): %v", len(store.members), err)
		}
		if store.delta == nil || len(store.delta.Remove) != 500 {
			t.Errorf("Patch wrote %+v, want the 500 members ending in 7 removed", store.delta)
		}
	})
	t.Run("value eq", func(t *testing.T) {
		store := &countingGroups{tb: t, members: memberIDsN(5000), batch: 1000}
		g := NewGroups(store)
		g.filterWork = MaxPatchOperations * filterParseWork // parsing their paths, and nothing more
		var ops []string
		for i := range MaxPatchOperations {
			ops = append(ops, fmt.Sprintf(`{"op":"remove","path":"members[value eq \"u%05d\"]"}`, i))
		}
		if _, err := g.Patch(t.Context(), "acme", "g1", patchOps(t, "["+strings.Join(ops, ",")+"]"), 0); err != nil {
			t.Fatalf("Patch(%d value eq removals, budget %d): %v", len(ops), g.filterWork, err)
		}
		if store.scans != 0 {
			t.Errorf("value eq removals scanned the members %d times, want never", store.scans)
		}
		if store.delta == nil || len(store.delta.Remove) != len(ops) {
			t.Errorf("Patch wrote %+v, want %d members removed", store.delta, len(ops))
		}
	})
}

// TestGroupPatchMemberFilterStopsWithClient: the scan of the members stops
// at the next batch once the client has left.
func TestGroupPatchMemberFilterStopsWithClient(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := &countingGroups{tb: t, members: memberIDsN(5000), batch: 1000}
	store.onBatch = func() {
		if store.batches == 1 {
			cancel() // the client leaves while the first batch is evaluated
		}
	}
	ops := patchOps(t, `[{"op":"remove","path":"members[value co \"7\"]"}]`)
	_, err := NewGroups(store).Patch(ctx, "acme", "g1", ops, 0)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Patch after the client left = %v, want context.Canceled", err)
	}
	if store.batches > 2 || store.delta != nil {
		t.Errorf("Patch after the client left read %d batches and wrote %v, want at most 2 and nothing", store.batches, store.delta)
	}
}

// BenchmarkMemberChange measures one "add members" operation by its number
// of members: the time should grow linearly with them.
func BenchmarkMemberChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		value := make([]any, n)
		for i := range value {
			value[i] = map[string]any{"value": fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)}
		}
		op := PatchOp{Op: "add", Path: "members", Value: value, HasValue: true}
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := MemberChange(schemas.Groups(), op, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
