package backend

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestUserReadIsOneMoment: a user read while its memberships change shows
// the groups of the version it reports (RFC 7644 §3.14: one ETag, one
// representation), and its version never goes back. The writer joins the
// user to a group, renames the group (a new version of each member) and
// takes the user out, again and again; the reader records, for every
// version it sees, the groups it saw with it. Before the read was one
// script, a membership change between the read of the user's hash and of
// its groups showed the earlier version with the later groups, and after a
// removal from a renamed group a version lower than one read before
// (review of issue 12's stop 29).
func TestUserReadIsOneMoment(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("moment@example.com"))
		g := mustCreateGroup(t, s, group("Moment 0"))
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(done)
			for i := range 150 {
				if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{u.ID}}); err != nil {
					t.Error(err)
					return
				}
				cur, err := s.GetGroup(ctx, org, g.ID, false)
				if err != nil {
					t.Error(err)
					return
				}
				cur.Attributes["displayName"] = fmt.Sprintf("Moment %d", i+1)
				if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID, Attributes: cur.Attributes}, cur.Version, resources.MemberDelta{}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Remove: []string{u.ID}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		seen := map[int64]string{}
		var last int64
		reads := 0
		for running := true; running; reads++ {
			select {
			case <-done:
				running = false
			default:
			}
			r, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ref := range r.Groups {
				names = append(names, ref.Display)
			}
			shown := strings.Join(names, ",")
			if was, ok := seen[r.Version]; ok && was != shown {
				t.Errorf("version %d read with groups [%s] and [%s]", r.Version, was, shown)
			}
			seen[r.Version] = shown
			if r.Version < last {
				t.Errorf("version went back from %d to %d", last, r.Version)
			}
			last = r.Version
		}
		wg.Wait()
		t.Logf("%d reads, %d versions seen", reads, len(seen))
	})
}
