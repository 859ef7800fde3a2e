package resources

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// countingGroups is a GroupStore holding one group; it counts the reads of
// its members and keeps the last delta written.
type countingGroups struct {
	GroupStore // not called
	members    []string
	reads      int
	delta      MemberDelta
}

func (s *countingGroups) GetGroup(_ context.Context, _, id string, withMembers bool) (Resource, error) {
	g := Resource{ID: id, Version: 1, Attributes: map[string]any{"displayName": "G"}}
	if withMembers {
		s.reads++
		for _, m := range s.members {
			g.Members = append(g.Members, Ref{ID: m})
		}
	}
	return g, nil
}

func (s *countingGroups) UpdateGroup(_ context.Context, _ string, g Resource, _ int64, d MemberDelta) (Resource, error) {
	s.delta = d
	return g, nil
}

// TestGroupPatchReadsMembersOnce: the members that filters other than
// "value eq" are evaluated on are read once per PATCH, however many
// operations need them.
func TestGroupPatchReadsMembersOnce(t *testing.T) {
	store := &countingGroups{members: []string{"a1", "a2", "b1", "b2"}}
	ops := patchOps(t, `[
		{"op":"remove","path":"members[value sw \"a\"]"},
		{"op":"remove","path":"members[value ew \"2\"]"},
		{"op":"remove","path":"members[not (value sw \"x\")]"},
		{"op":"add","path":"members","value":[{"value":"c1"}]}
	]`)
	if _, err := NewGroups(store).Patch(t.Context(), "acme", "g1", ops, 0); err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if store.reads != 1 {
		t.Errorf("Patch of %d operations read the members %d times, want once", len(ops), store.reads)
	}
	slices.Sort(store.delta.Remove)
	if want := []string{"a1", "a2", "b1", "b2"}; !slices.Equal(store.delta.Remove, want) || !slices.Equal(store.delta.Add, []string{"c1"}) {
		t.Errorf("Patch wrote delta %+v, want Remove %v and Add [c1]", store.delta, want)
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
