package backend

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// pageDisplays is a page's members' displays, comma-separated.
func pageDisplays(pg resources.MemberPage) string {
	out := make([]string, len(pg.Members))
	for i, m := range pg.Members {
		out[i] = m.Display
	}
	return strings.Join(out, ",")
}

func mustMemberPage(t *testing.T, s *Store, gid string, q resources.MemberPageQuery) resources.MemberPage {
	t.Helper()
	pg, err := s.MemberPage(context.Background(), org, gid, q)
	if err != nil {
		t.Fatalf("MemberPage(%+v): %v", q, err)
	}
	return pg
}

// wantPage checks a page's displays, total, offset, and whether it has a
// previous and a next page.
func wantPage(t *testing.T, call string, pg resources.MemberPage, displays string, total, offset int, prev, next bool) {
	t.Helper()
	if got := pageDisplays(pg); got != displays || pg.Matching != total || pg.Offset != offset || (pg.Prev != "") != prev || (pg.Next != "") != next {
		t.Fatalf("%s = %q total %d offset %d prev %t next %t, want %q total %d offset %d prev %t next %t",
			call, got, pg.Matching, pg.Offset, pg.Prev != "", pg.Next != "", displays, total, offset, prev, next)
	}
}

func TestMemberPage(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for _, d := range []string{"delta", "Alpha", "echo", "Bravo", "charlie", "Foxtrot", "alpine"} {
			u := mustCreateUser(t, s, user(d+"@example.com", "displayName", d))
			ids = append(ids, u.ID)
		}
		g := mustCreateGroup(t, s, group("Everyone", ids...))
		q := resources.MemberPageQuery{Count: 3}
		p1 := mustMemberPage(t, s, g.ID, q)
		wantPage(t, "first page", p1, "Alpha,alpine,Bravo", 7, 0, false, true)
		p2 := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, After: p1.Next})
		wantPage(t, "second page", p2, "charlie,delta,echo", 7, 3, true, true)
		p3 := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, After: p2.Next})
		wantPage(t, "last page", p3, "Foxtrot", 7, 6, true, false)
		back := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, Before: p3.Prev})
		wantPage(t, "back from the last page", back, "charlie,delta,echo", 7, 3, true, true)
		back = mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, Before: back.Prev})
		wantPage(t, "back to the first page", back, "Alpha,alpine,Bravo", 7, 0, false, true)
		// Fewer than a page before the key: the first page, full.
		two := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 2})
		short := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, Before: two.Next})
		wantPage(t, "back from the second member", short, "Alpha,alpine,Bravo", 7, 0, false, true)

		// A prefix, ignoring case, pages within the members that match.
		al := mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 1, Prefix: "AL"})
		wantPage(t, "prefix AL", al, "Alpha", 2, 0, false, true)
		if al.Total != 7 {
			t.Errorf("prefix AL: Total = %d, want the group's 7", al.Total)
		}
		al = mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 1, Prefix: "AL", After: al.Next})
		wantPage(t, "prefix AL, next", al, "alpine", 2, 1, true, false)
		// A key from the pages without a prefix starts at the prefix.
		wantPage(t, "prefix e after the first page", mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, Prefix: "e", After: p1.Next}), "echo", 1, 0, false, false)
		wantPage(t, "prefix with no member", mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 3, Prefix: "zulu"}), "", 0, 0, false, false)

		// A user's rename moves it; deletion, removal and replacement drop
		// what they end.
		cur, err := s.GetUser(ctx, org, ids[0])
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if _, err := s.ReplaceUser(ctx, org, resources.Resource{ID: ids[0], Attributes: map[string]any{"userName": "delta@example.com", "displayName": "Aardvark"}}, cur.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		if err := s.DeleteUser(ctx, org, ids[1], 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Remove: []string{ids[2]}}); err != nil {
			t.Fatalf("UpdateGroup remove: %v", err)
		}
		wantPage(t, "after rename, deletion, removal", mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 10}), "Aardvark,alpine,Bravo,charlie,Foxtrot", 5, 0, false, false)
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{RemoveAll: true, Add: []string{ids[5], ids[3]}}); err != nil {
			t.Fatalf("UpdateGroup replace: %v", err)
		}
		wantPage(t, "after replacement", mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 10}), "Bravo,Foxtrot", 2, 0, false, false)
		if got, _ := check(t, s); len(got) != 0 {
			t.Errorf("Check after the changes found:\n%s", findingLines(got))
		}

		if _, err := s.MemberPage(ctx, org, g.ID, resources.MemberPageQuery{Count: 3, After: "not a key!"}); resources.ErrorCode(err) != resources.InvalidValue {
			t.Errorf("MemberPage with a malformed key = %v, want InvalidValue", err)
		}
		if err := s.DeleteGroup(ctx, org, g.ID, 0); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
		if _, err := s.MemberPage(ctx, org, g.ID, q); resources.ErrorCode(err) != resources.NotFound {
			t.Errorf("MemberPage of a deleted group = %v, want NotFound", err)
		}
		if n := s.client.Exists(ctx, "scimd:{"+org+"}:morder:"+g.ID).Val(); n != 0 {
			t.Errorf("the deleted group's members' order is still there")
		}
	})
}

// TestMemberPageRebuildsOrder: a group whose members' order is missing (a
// group written before it existed) or holds strays is paged right, and the
// order is whole afterwards.
func TestMemberPageRebuildsOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for _, d := range []string{"b", "a", "c"} {
			ids = append(ids, mustCreateUser(t, s, user(d+"@example.com")).ID)
		}
		g := mustCreateGroup(t, s, group("G", ids...))
		key := "scimd:{" + org + "}:morder:" + g.ID
		s.client.Del(ctx, key)
		s.client.ZAdd(ctx, key, redis.Z{Member: "zz@example.com\x00gone"})
		got, _ := check(t, s)
		if len(got) != 4 {
			t.Errorf("Check of a broken order found:\n%swant 3 order-missing and 1 order-stray", findingLines(got))
		}
		wantPage(t, "page of a group without its order", mustMemberPage(t, s, g.ID, resources.MemberPageQuery{Count: 5}),
			"a@example.com,b@example.com,c@example.com", 3, 0, false, false)
		if got, _ := check(t, s); len(got) != 0 {
			t.Errorf("Check after the rebuild found:\n%s", findingLines(got))
		}
	})
}
