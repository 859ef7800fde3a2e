package backend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// bigGroupMembers is the size of the group the member page benchmarks read.
const bigGroupMembers = 50000

// bigGroup returns a store on a real redis-server holding one group of
// bigGroupMembers users, and the group's id.
func bigGroup(b *testing.B) (*Store, string) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, redistest.Start(b))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	g, err := s.CreateGroup(ctx, org, resources.Resource{Attributes: map[string]any{"displayName": "Big"}})
	if err != nil {
		b.Fatalf("CreateGroup: %v", err)
	}
	const batch = 1000
	for lo := 0; lo < bigGroupMembers; lo += batch {
		users := make([]resources.Resource, batch)
		ws := make([]resources.UserWrite, batch)
		for i := range users {
			users[i] = benchUser(lo + i)
			users[i].Attributes["displayName"] = fmt.Sprintf("Member %06d", (lo+i)*7919%bigGroupMembers)
		}
		created, errs, err := s.CreateUsers(ctx, org, users, ws)
		if err != nil {
			b.Fatalf("CreateUsers: %v", err)
		}
		ids := make([]string, 0, batch)
		for i, u := range created {
			if errs[i] != nil {
				b.Fatalf("CreateUsers: %v", errs[i])
			}
			ids = append(ids, u.ID)
		}
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: ids}); err != nil {
			b.Fatalf("UpdateGroup: %v", err)
		}
	}
	p, _ := prefix(org)
	for _, k := range []string{"members:", "morder:"} {
		n, _ := s.client.MemoryUsage(ctx, p+k+g.ID).Result()
		b.Logf("MEMORY USAGE %s<group>: %d bytes, %.1f per member", k, n, float64(n)/bigGroupMembers)
	}
	return s, g.ID
}

// BenchmarkMemberPageWholeRead is the members tab as it was: the group's
// members read whole, sorted in Go, one page of 50 kept.
func BenchmarkMemberPageWholeRead(b *testing.B) {
	s, gid := bigGroup(b)
	ctx := context.Background()
	for b.Loop() {
		g, err := s.GetGroup(ctx, org, gid, true)
		if err != nil {
			b.Fatal(err)
		}
		m := slices.Clone(g.Members)
		slices.SortFunc(m, func(a, b resources.Ref) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Display), strings.ToLower(b.Display)), cmp.Compare(a.ID, b.ID))
		})
		_ = m[100:150]
	}
}

// BenchmarkMemberPageKeyset is the members tab now: one page of 50 read
// by key from the members' order (the third page, as a click on Next
// twice reads it), then a search by prefix.
func BenchmarkMemberPageKeyset(b *testing.B) {
	s, gid := bigGroup(b)
	ctx := context.Background()
	q := resources.MemberPageQuery{Count: 50}
	for range 2 {
		pg, err := s.MemberPage(ctx, org, gid, q)
		if err != nil {
			b.Fatal(err)
		}
		q.After = pg.Next
	}
	for b.Loop() {
		if _, err := s.MemberPage(ctx, org, gid, q); err != nil {
			b.Fatal(err)
		}
		if _, err := s.MemberPage(ctx, org, gid, resources.MemberPageQuery{Count: 50, Prefix: "member 04"}); err != nil {
			b.Fatal(err)
		}
	}
}
