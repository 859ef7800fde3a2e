package backend

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// BenchmarkBroadFilters times filters over 100,000 users on a real
// redis-server: the first page of "active eq true", and the page at
// startIndex 50,001 of "userName sw \"w\"" (the rows, at 100k),
// both matching every user; "or"s of different keys and "not"s.
// Seeding takes a minute or two.
func BenchmarkBroadFilters(b *testing.B) {
	const users = 100000
	s, err := Open(context.Background(), redistest.Start(b))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += workers {
				u := resources.Resource{Attributes: map[string]any{
					"userName": fmt.Sprintf("w%06d@example.com", i), "active": true,
					"name": map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", i)},
				}}
				if _, err := s.CreateUser(context.Background(), org, u, resources.UserWrite{}); err != nil {
					b.Errorf("CreateUser: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, bc := range []struct {
		name, filter string
		start, total int
		cursor       bool // also by cursor (from a position of the userName index, past page 1)
	}{
		{"active_eq_true/page1", `active eq true`, 1, users, true},
		{"userName_sw_w/start50001", `userName sw "w"`, 50001, users, true},
		// An "or" of different keys: eq or eq, as identity providers send;
		// 11,111 and 10 matches (one in both), the large side first, then last.
		{"or_eq_eq/page1", `userName eq "w000001@example.com" or name.familyName eq "Family2"`, 1, 2, true},
		{"or_sw_large_first/page1", `name.familyName sw "Family1" or userName sw "w00000"`, 1, 11120, true},
		{"or_sw_large_last/page1", `userName sw "w00000" or name.familyName sw "Family1"`, 1, 11120, true},
		// A "not" of an indexed comparison: 11,111 left out, and one.
		{"not_sw/start50001", `not (name.familyName sw "Family1")`, 50001, users - 11111, false},
		{"not_eq/page1", `not (userName eq "w000001@example.com")`, 1, users - 1, true},
	} {
		e, err := resources.ParseFilter(schemas.Users(), bc.filter, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, StartIndex: bc.start, Count: 100})
				if err != nil || page.Total != bc.total || len(page.Resources) != min(bc.total, 100) {
					b.Fatalf("ListUsers(%s) = total %d, %d resources, %v", bc.filter, page.Total, len(page.Resources), err)
				}
			}
		})
		if !bc.cursor {
			continue
		}
		// The same page by cursor: a seek from the position of the result
		// before it (what a nextCursor holds), in the index's order.
		at, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, StartIndex: max(bc.start-1, 1), Count: 1, RawOnly: true})
		if err != nil || len(at.Resources) != 1 {
			b.Fatalf("ListUsers(%s) = %d resources, %v", bc.filter, len(at.Resources), err)
		}
		seek, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, Count: 1, Seek: &resources.Seek{}})
		if err != nil || len(seek.Positions) != 1 {
			b.Fatalf("ListUsers(%s, cursor) = %d positions, %v", bc.filter, len(seek.Positions), err)
		}
		from := seek.Positions[0] // the leaf's tag, and the key of the first
		if bc.start > 1 {
			from.Key, from.ID = strings.ToLower(fmt.Sprintf("w%06d@example.com", bc.start-2)), at.Resources[0].ID
		}
		b.Run(bc.name+"/cursor", func(b *testing.B) {
			for b.Loop() {
				page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, Count: 100, Seek: &resources.Seek{From: &from}})
				if err != nil || page.Total != bc.total || len(page.Resources) != min(bc.total-1, 100) {
					b.Fatalf("ListUsers(%s, cursor) = total %d, %d resources, %v", bc.filter, page.Total, len(page.Resources), err)
				}
			}
		})
	}
}
