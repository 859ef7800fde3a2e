package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

const benchUsers = 10000

func benchUser(i int) resources.Resource {
	return resources.Resource{Attributes: map[string]any{
		"userName":    fmt.Sprintf("user%05d@example.com", i),
		"externalId":  fmt.Sprintf("ext-%05d", i),
		"displayName": fmt.Sprintf("User %d", i),
		"name":        map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", i)},
		"emails":      []any{map[string]any{"value": fmt.Sprintf("user%05d@example.com", i), "primary": true}},
		"active":      true,
	}}
}

// seeded returns a store on a real redis-server holding benchUsers users, and
// their ids. Benchmarks use b.Loop, so this runs once per benchmark.
func seeded(b *testing.B) (*Store, []string) {
	b.Helper()
	s, err := Open(context.Background(), redistest.Start(b))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ids := make([]string, benchUsers)
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < benchUsers; i += workers {
				u, err := s.CreateUser(context.Background(), org, benchUser(i), resources.UserWrite{PasswordHash: "hash"})
				if err != nil {
					b.Errorf("CreateUser: %v", err)
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	return s, ids
}

// BenchmarkBaselineGET is one go-redis GET of a stored user's JSON: the floor
// the other benchmarks are read against.
func BenchmarkBaselineGET(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	doc, _ := json.Marshal(benchUser(1).Attributes)
	if err := s.client.Set(ctx, "baseline", doc, 0).Err(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.client.Get(ctx, "baseline").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetUser(b *testing.B) {
	s, ids := seeded(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := s.GetUser(ctx, org, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkFindByUserName is the existence check IdPs send before
// provisioning: filter=userName eq "...".
func BenchmarkFindByUserName(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	filters := make([]resources.Query, 1000)
	for i := range filters {
		e, err := resources.ParseFilter(schemas.Users(), fmt.Sprintf(`userName eq "USER%05d@example.com"`, i*7), "")
		if err != nil {
			b.Fatal(err)
		}
		filters[i] = resources.Query{Filter: e, StartIndex: 1, Count: 100}
	}
	i := 0
	for b.Loop() {
		page, err := s.ListUsers(ctx, org, filters[i%len(filters)])
		if err != nil || page.Total != 1 {
			b.Fatalf("ListUsers = %d, %v", page.Total, err)
		}
		i++
	}
}

func BenchmarkCreateUser(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	i := benchUsers
	for b.Loop() {
		if _, err := s.CreateUser(ctx, org, benchUser(i), resources.UserWrite{PasswordHash: "hash"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkListUsersPage reads the 100th page of 100 users, unfiltered.
func BenchmarkListUsersPage(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	for b.Loop() {
		page, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 9901, Count: 100})
		if err != nil || len(page.Resources) != 100 {
			b.Fatalf("ListUsers = %d, %v", len(page.Resources), err)
		}
	}
}

// BenchmarkFilterSW reads a page of users whose userName starts with a prefix
// matching 100 users: an index range read, ordered by creation.
func BenchmarkFilterSW(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	e, _ := resources.ParseFilter(schemas.Users(), `userName sw "user050"`, "")
	for b.Loop() {
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 20})
		if err != nil || page.Total != 100 {
			b.Fatalf("ListUsers = %d, %v", page.Total, err)
		}
	}
}

// BenchmarkFilterScan evaluates unindexed filters (co) of 1 and 100
// comparisons on every user, the work [Store.MaxFilterWork] bounds: ns/op
// divided by users × comparisons is what one evaluation costs.
func BenchmarkFilterScan(b *testing.B) {
	s, _ := seeded(b)
	s.MaxFilterWork = 1 << 30
	ctx := context.Background()
	for _, terms := range []int{1, 100} {
		parts := make([]string, terms)
		for i := range parts {
			parts[i] = fmt.Sprintf(`userName co "zz%d"`, i)
		}
		e, err := resources.ParseFilter(schemas.Users(), strings.Join(parts, " or "), "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("terms=%d", terms), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 20}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(benchUsers*terms), "ns/evaluation")
		})
	}
}
