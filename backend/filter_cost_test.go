package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// docReads counts the pipelines that read user documents; after runs, once,
// after the first.
type docReads struct {
	n     atomic.Int64
	after func()
}

func (*docReads) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (*docReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (d *docReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if c.Name() == "hgetall" && strings.Contains(fmt.Sprint(c.Args()[1]), ":user:") {
				if d.n.Add(1) == 1 && d.after != nil {
					d.after()
				}
				break
			}
		}
		return err
	}
}

// TestFilterWorkBudget: a query whose filter would be evaluated on more
// documents × comparisons than MaxFilterWork fails with TooMany before it
// reads a single document; one within the budget runs.
func TestFilterWorkBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 6 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i)))
		}
		reads := &docReads{}
		s.client.AddHook(reads)
		s.MaxFilterWork = 10
		byTitle, err := resources.ParseSort(schemas.Users(), "title", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{
			`title co "1" or title co "2"`,                   // a scan: 6 users × 2
			`userName sw "u" and (title co "a" or title pr)`, // 6 candidates × 3
		} {
			e, err := resources.ParseFilter(schemas.Users(), f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", f, err)
			}
			_, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10})
			wantCode(t, "ListUsers("+f+")", err, resources.TooMany)
			_, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10, Sort: byTitle})
			wantCode(t, "sorted ListUsers("+f+")", err, resources.TooMany)
		}
		if n := reads.n.Load(); n != 0 {
			t.Errorf("queries over the budget read documents %d times, want 0", n)
		}
		e, _ := resources.ParseFilter(schemas.Users(), `not (userName co "1")`, "") // a scan: 6 users × 1
		if page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10}); err != nil || page.Total != 5 {
			t.Errorf("ListUsers within the budget = %d, %v; want 5 matches", page.Total, err)
		}
	})
}

// TestFilterScanStopsWhenClientLeaves: a scan stops at the next batch once
// its context is done.
func TestFilterScanStopsWhenClientLeaves(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		for i := range scanBatch + 1 {
			mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reads := &docReads{after: cancel}
		s.client.AddHook(reads)
		e, _ := resources.ParseFilter(schemas.Users(), `title co "1"`, "") // no index: every document
		_, err := s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ListUsers after the client left = %v, want context.Canceled", err)
		}
		if n := reads.n.Load(); n != 1 {
			t.Errorf("the scan read documents %d times after the client left at the first, want 1", n)
		}
	})
}

// TestMemberFilterWork: a filter on groups' members is charged its
// comparisons times their members, from their count, before any member is
// loaded; and returning members is bounded by the groups a filter keeps,
// not by those it examines.
func TestMemberFilterWork(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rt := schemas.Groups()
		var refs []resources.Ref
		for i := range 30 {
			refs = append(refs, resources.Ref{ID: mustCreateUser(t, s, user(fmt.Sprintf("m%d@example.com", i))).ID})
		}
		big := group("Big")
		big.Members = refs
		mustCreateGroup(t, s, big)
		small := group("Small")
		small.Members = refs[:2]
		smallID := mustCreateGroup(t, s, small).ID

		s.MaxFilterWork = 50  // 2 comparisons × (32 members + 2 groups) = 68: over
		s.MaxListMembers = 10 // Big alone is over
		parse := func(f string) resources.Filter {
			e, err := resources.ParseFilter(rt, f, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", f, err)
			}
			return e
		}
		_, err := s.ListGroups(ctx, org, resources.Query{Filter: parse(`members[display co "zz"] or members[display co "yy"]`), StartIndex: 1, Count: 10})
		if resources.ErrorCode(err) != resources.TooMany {
			t.Errorf("a members filter over budget = %v, want TooMany", err)
		}
		page, err := s.ListGroups(ctx, org, resources.Query{Filter: parse(`members[display co "m1"]`), StartIndex: 1, Count: 10})
		if err != nil || page.Total != 2 {
			t.Errorf("a members filter within budget = total %d, %v; want both groups", page.Total, err)
		}
		// An unindexed filter keeping only Small returns it with its members,
		// although Big, examined too, has more than MaxListMembers.
		page, err = s.ListGroups(ctx, org, resources.Query{Filter: parse(`id eq "` + smallID + `"`), StartIndex: 1, Count: 10, WithMembers: true})
		if err != nil || page.Total != 1 || len(page.Resources) != 1 || len(page.Resources[0].Members) != 2 {
			t.Fatalf("id eq Small with members = %+v, %v; want Small and its 2 members", page, err)
		}
	})
}
