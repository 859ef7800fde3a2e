package backend

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// allChanges returns the organization's change log, oldest first.
func allChanges(t *testing.T, s *Store) []resources.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), org, 1<<20)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return cs
}

// wantWhoDid checks the change log, oldest first, as "who action" lines.
func wantWhoDid(t *testing.T, s *Store, want ...string) {
	t.Helper()
	var got []string
	for _, c := range allChanges(t, s) {
		got = append(got, c.Who+" "+string(c.Action))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("change log = %v, want %v", got, want)
	}
}

func TestChangeLogRecordsEachWrite(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		as := func(who string) context.Context { return resources.WithActor(context.Background(), who) }
		start := time.Now().Add(-time.Second)
		n := 0
		// expect checks that the last write appended exactly one entry.
		expect := func(call string, err error, who string, action resources.Action, typ, id string) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", call, err)
			}
			cs := allChanges(t, s)
			if len(cs) != n+1 {
				t.Fatalf("after %s the log has %d entries, want %d", call, len(cs), n+1)
			}
			n++
			got := cs[len(cs)-1]
			if got.Who != who || got.Action != action || got.Type != typ || got.ResourceID != id {
				t.Errorf("%s logged {who %q action %q type %q id %q}, want {%q %q %q %q}",
					call, got.Who, got.Action, got.Type, got.ResourceID, who, action, typ, id)
			}
			if got.Time.Before(start) || got.Time.After(time.Now().Add(time.Second)) || got.Seq == "" {
				t.Errorf("%s logged time %v seq %q, want now and a stream id", call, got.Time, got.Seq)
			}
		}
		u, err := s.CreateUser(as("hr"), org, user("jane@example.com", "displayName", "Jane Doe"), resources.UserWrite{PasswordHash: "h"})
		expect("CreateUser", err, "hr", resources.ActionCreate, "User", u.ID)
		u.Attributes["nickName"] = "J"
		_, err = s.ReplaceUser(as("hr"), org, u, 1, resources.UserWrite{})
		expect("ReplaceUser", err, "hr", resources.ActionReplace, "User", u.ID)
		_, err = s.ReplaceUser(resources.WithAction(as("okta"), resources.ActionPatch), org, u, 2, resources.UserWrite{})
		expect("ReplaceUser (PATCH)", err, "okta", resources.ActionPatch, "User", u.ID)
		_, err = s.ReplaceUser(as(resources.CustomerActor(u.ID)), org, u, 3, resources.UserWrite{PasswordHash: "h2"})
		expect("ReplaceUser (self)", err, "customer:"+u.ID, resources.ActionReplace, "User", u.ID)
		g, err := s.CreateGroup(as("hr"), org, group("Staff", u.ID))
		expect("CreateGroup", err, "hr", resources.ActionCreate, "Group", g.ID)
		g.Attributes["displayName"] = "Team"
		_, err = s.UpdateGroup(as("hr"), org, g, 1, resources.MemberDelta{})
		expect("UpdateGroup", err, "hr", resources.ActionReplace, "Group", g.ID)
		_, err = s.UpdateGroup(as("hr"), org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Remove: []string{u.ID}})
		expect("UpdateGroup (members only)", err, "hr", resources.ActionMembers, "Group", g.ID)
		_, err = s.UpdateGroup(as("hr"), org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{u.ID}})
		expect("UpdateGroup (add member)", err, "hr", resources.ActionMembers, "Group", g.ID)
		err = s.DeleteUser(as("hr"), org, u.ID, 0)
		expect("DeleteUser", err, "hr", resources.ActionDelete, "User", u.ID)
		err = s.DeleteGroup(context.Background(), org, g.ID, 0)
		expect("DeleteGroup (no actor)", err, resources.SystemActor, resources.ActionDelete, "Group", g.ID)
		err = s.CreateToken(as("cli"), resources.Token{Org: org, Name: "sync", Role: resources.RoleReader, Hash: "h1"})
		expect("CreateToken", err, "cli", resources.ActionCreate, resources.TypeToken, "sync")
		err = s.PutToken(as("cli"), resources.Token{Org: org, Name: "sync", Role: resources.RoleReader, Hash: "h1"})
		if err != nil || len(allChanges(t, s)) != n {
			t.Fatalf("PutToken of the same token = %v and logged an entry; want nil and no entry", err)
		}
		err = s.PutToken(as("cli"), resources.Token{Org: org, Name: "sync", Role: resources.RoleReader, Hash: "h2"})
		expect("PutToken (new secret)", err, "cli", resources.ActionReplace, resources.TypeToken, "sync")
		err = s.RevokeToken(as("cli"), org, "sync")
		expect("RevokeToken", err, "cli", resources.ActionDelete, resources.TypeToken, "sync")

		// No personal data: the raw stream holds none of the values written.
		raw, err := s.client.XRange(context.Background(), "scimd:{"+org+"}:changes", "-", "+").Result()
		if err != nil {
			t.Fatalf("XRANGE: %v", err)
		}
		text := fmt.Sprint(raw)
		for _, pii := range []string{"jane@example.com", "Jane", "Staff", "Team", "h1", "h2"} {
			if strings.Contains(text, pii) {
				t.Errorf("the change log holds %q: %s", pii, text)
			}
		}
	})
}

func TestChangeLogFailedWritesAppendNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "hr")
		u := mustCreateUser(t, s, user("a@example.com"))
		g := mustCreateGroup(t, s, group("G"))
		mustCreateGroup(t, s, group("H"))
		if err := s.CreateToken(ctx, resources.Token{Org: org, Name: "t", Role: resources.RoleOwner, Hash: "x"}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		n := len(allChanges(t, s))
		fails := map[string]error{}
		_, fails["CreateUser taken"] = s.CreateUser(ctx, org, user("A@example.com"), resources.UserWrite{})
		_, fails["ReplaceUser stale"] = s.ReplaceUser(ctx, org, u, 7, resources.UserWrite{})
		_, fails["ReplaceUser missing"] = s.ReplaceUser(ctx, org, resources.Resource{ID: "nope"}, 1, resources.UserWrite{})
		fails["DeleteUser stale"] = s.DeleteUser(ctx, org, u.ID, 7)
		fails["DeleteUser missing"] = s.DeleteUser(ctx, org, "nope", 0)
		_, fails["CreateGroup taken"] = s.CreateGroup(ctx, org, group("h"))
		_, fails["UpdateGroup stale"] = s.UpdateGroup(ctx, org, g, 7, resources.MemberDelta{})
		_, fails["UpdateGroup taken"] = s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID, Attributes: map[string]any{"displayName": "H"}}, 1, resources.MemberDelta{})
		_, fails["UpdateGroup no member"] = s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{"nobody"}})
		fails["DeleteGroup stale"] = s.DeleteGroup(ctx, org, g.ID, 7)
		fails["CreateToken taken"] = s.CreateToken(ctx, resources.Token{Org: org, Name: "t", Role: resources.RoleOwner, Hash: "y"})
		fails["RevokeToken missing"] = s.RevokeToken(ctx, org, "nope")
		for call, err := range fails {
			if err == nil {
				t.Errorf("%s succeeded, want an error", call)
			}
		}
		if got := len(allChanges(t, s)); got != n {
			t.Fatalf("failed writes appended %d entries to the change log, want 0", got-n)
		}
		if _, err := s.TokenByHash(context.Background(), "y"); resources.ErrorCode(err) != resources.NotFound {
			t.Errorf("a token refused for its duplicate name is usable: TokenByHash = %v, want NotFound", err)
		}
	})
}

func TestChangeLogIsCapped(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		s.MaxChanges = 10
		u := mustCreateUser(t, s, user("a@example.com"))
		for v := int64(1); v <= 300; v++ {
			if _, err := s.ReplaceUser(context.Background(), org, u, v, resources.UserWrite{}); err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
		}
		// MAXLEN ~ trims whole stream nodes (100 entries by default), so
		// the log keeps at least 10 and far fewer than 301.
		if n := len(allChanges(t, s)); n < 10 || n > 200 {
			t.Fatalf("the change log has %d entries after 301 writes with MaxChanges 10, want 10 to 200", n)
		}
		latest, err := s.Changes(context.Background(), org, 2)
		if err != nil || len(latest) != 2 || !streamIDAfter(latest[0].Seq, latest[1].Seq) {
			t.Fatalf("Changes(2) = %v, %v; want the two newest, newest first", latest, err)
		}
	})
}

func TestTokenAdmin(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mk := func(name string, role resources.Role, hash string) resources.Token {
			return resources.Token{Org: org, Name: name, Role: role, Hash: hash, Created: time.Now().UTC().Truncate(time.Second)}
		}
		for _, tok := range []resources.Token{mk("zeta", resources.RoleReader, "hz"), mk("alpha", resources.RoleOwner, "ha")} {
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatalf("CreateToken(%s): %v", tok.Name, err)
			}
		}
		if err := s.CreateToken(ctx, resources.Token{Org: "globex", Name: "alpha", Role: resources.RoleOwner, Hash: "hg"}); err != nil {
			t.Fatalf("CreateToken in another organization with the same name: %v", err)
		}
		err := s.CreateToken(ctx, mk("alpha", resources.RoleReader, "hdup"))
		wantCode(t, "CreateToken duplicate name", err, resources.Uniqueness)
		for _, bad := range []resources.Token{mk("", resources.RoleOwner, "h"), mk("a b", resources.RoleOwner, "h"),
			mk("customer:x", resources.RoleOwner, "h"), mk("ok", "admin", "h")} {
			err := s.CreateToken(ctx, bad)
			wantCode(t, fmt.Sprintf("CreateToken(%q, %q)", bad.Name, bad.Role), err, resources.InvalidValue)
		}
		list, err := s.ListTokens(ctx, org)
		if err != nil || len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "zeta" || list[1].Role != resources.RoleReader {
			t.Fatalf("ListTokens = %+v, %v; want alpha, zeta", list, err)
		}
		if err := s.RevokeToken(ctx, org, "alpha"); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		_, err = s.TokenByHash(ctx, "ha")
		wantCode(t, "TokenByHash after revoke", err, resources.NotFound)
		if _, err := s.TokenByHash(ctx, "hg"); err != nil {
			t.Errorf("revoking acme's alpha broke globex's alpha: %v", err)
		}
		err = s.RevokeToken(ctx, org, "alpha")
		wantCode(t, "RevokeToken twice", err, resources.NotFound)
		if list, _ := s.ListTokens(ctx, org); len(list) != 1 || list[0].Name != "zeta" {
			t.Errorf("ListTokens after revoke = %+v, want zeta", list)
		}
		// The name is free again.
		if err := s.CreateToken(ctx, mk("alpha", resources.RoleCollaborator, "ha2")); err != nil {
			t.Fatalf("CreateToken with a revoked name: %v", err)
		}
		// PutToken replaces a name's token: the old secret stops working.
		if err := s.PutToken(ctx, mk("alpha", resources.RoleOwner, "ha3")); err != nil {
			t.Fatalf("PutToken: %v", err)
		}
		_, err = s.TokenByHash(ctx, "ha2")
		wantCode(t, "TokenByHash of a replaced token", err, resources.NotFound)
		if got, err := s.TokenByHash(ctx, "ha3"); err != nil || got.Role != resources.RoleOwner {
			t.Errorf("TokenByHash(ha3) = %+v, %v", got, err)
		}

		if ok, err := s.CreateOrg(ctx, "neworg"); !ok || err != nil {
			t.Fatalf("CreateOrg = %v, %v; want true", ok, err)
		}
		if ok, err := s.CreateOrg(ctx, "neworg"); ok || err != nil {
			t.Fatalf("CreateOrg again = %v, %v; want false", ok, err)
		}
		if ok, err := s.OrgExists(ctx, "neworg"); !ok || err != nil {
			t.Errorf("OrgExists = %v, %v", ok, err)
		}
		if ok, err := s.OrgExists(ctx, "other"); ok || err != nil {
			t.Errorf("OrgExists(other) = %v, %v", ok, err)
		}
		_, err = s.CreateOrg(ctx, "a{b}")
		wantCode(t, "CreateOrg with braces", err, resources.InvalidValue)
	})
}

// TestRecordOrgsInTheirSlots: an organization created before organizations
// were recorded in their own slots (only in the list) does not exist to a
// request until RecordOrgsInTheirSlots, which serve runs at start, records
// it; organizations recorded already are left as they are.
func TestRecordOrgsInTheirSlots(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, org := range []string{"old", "new"} {
			if _, err := s.CreateOrg(ctx, org); err != nil {
				t.Fatal(err)
			}
		}
		p, _ := prefix("old")
		if err := s.client.Del(ctx, orgCreated(p)).Err(); err != nil { // as an older scimd created it
			t.Fatal(err)
		}
		if ok, err := s.OrgExists(ctx, "old"); ok || err != nil {
			t.Fatalf("OrgExists(old) with no record in its slot = %v, %v; want false", ok, err)
		}
		if n, err := s.RecordOrgsInTheirSlots(ctx); n != 1 || err != nil {
			t.Fatalf("RecordOrgsInTheirSlots = %d, %v; want 1", n, err)
		}
		for _, org := range []string{"old", "new"} {
			if ok, err := s.OrgExists(ctx, org); !ok || err != nil {
				t.Errorf("OrgExists(%s) = %v, %v; want true", org, ok, err)
			}
		}
		if n, err := s.RecordOrgsInTheirSlots(ctx); n != 0 || err != nil {
			t.Errorf("RecordOrgsInTheirSlots again = %d, %v; want 0", n, err)
		}
	})
}

// streamIDAfter reports whether Redis stream id a ("ms-seq") comes after b.
// They compare as numbers: "5-10" is after "5-9".
func streamIDAfter(a, b string) bool {
	parse := func(id string) (ms, seq uint64) {
		m, q, _ := strings.Cut(id, "-")
		ms, _ = strconv.ParseUint(m, 10, 64)
		seq, _ = strconv.ParseUint(q, 10, 64)
		return ms, seq
	}
	am, as := parse(a)
	bm, bs := parse(b)
	return am > bm || am == bm && as > bs
}
