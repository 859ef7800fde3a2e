package backend

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

func TestOrgDisplayName(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "admin:a1")
		if _, err := s.SetSelfRegistration(ctx, org, true); err != nil {
			t.Fatalf("SetSelfRegistration: %v", err)
		}
		n := len(allChanges(t, s))
		for _, c := range []struct {
			name    string
			audited bool
		}{
			{"Acme Inc.", true},
			{"Acme Inc.", false},
			{"Acme, Inc. ✓", true},
			{"", true},
			{"", false},
		} {
			if err := s.SetOrgDisplayName(ctx, org, c.name); err != nil {
				t.Fatalf("SetOrgDisplayName(%q): %v", c.name, err)
			}
			got, err := s.OrgSettings(ctx, org)
			if err != nil || got.DisplayName != c.name || !got.SelfRegistration {
				t.Fatalf("OrgSettings after SetOrgDisplayName(%q) = %+v, %v; want that name, self-registration on", c.name, got, err)
			}
			cs := allChanges(t, s)
			if c.audited {
				n++
				last := cs[len(cs)-1]
				if last.Who != "admin:a1" || last.Action != resources.ActionReplace || last.Type != resources.TypeSettings || last.ResourceID != "displayName" {
					t.Errorf("SetOrgDisplayName(%q) logged %+v, want admin:a1 replace Settings displayName", c.name, last)
				}
			}
			if len(cs) != n {
				t.Fatalf("after SetOrgDisplayName(%q) the log has %d entries, want %d", c.name, len(cs), n)
			}
		}
		if got := s.client.HExists(ctx, "scimd:{acme}:settings", "displayName").Val(); got {
			t.Errorf("a cleared display name is still a field of the settings")
		}
		if got, _ := s.OrgSettings(ctx, "globex"); got != (resources.OrgSettings{}) {
			t.Errorf("OrgSettings(globex) = %+v, want the zero settings", got)
		}
	})
}

func TestChangesBefore(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const total = 7
		for i := range total {
			if err := s.SetOrgDisplayName(ctx, org, fmt.Sprint("name ", i)); err != nil {
				t.Fatalf("SetOrgDisplayName: %v", err)
			}
		}
		all, err := s.ChangesBefore(ctx, org, "", 100)
		if err != nil || len(all) != total {
			t.Fatalf("ChangesBefore(\"\", 100) = %d entries, %v; want %d", len(all), err, total)
		}
		latest, err := s.Changes(ctx, org, 100)
		if err != nil || len(latest) != total || latest[0].Seq != all[0].Seq {
			t.Fatalf("Changes = %d entries, %v; want ChangesBefore's %d", len(latest), err, total)
		}
		for _, count := range []int64{1, 2, 3, 7, 8} {
			var got []string
			before := ""
			for pages := 0; ; pages++ {
				if pages > total+1 {
					t.Fatalf("count %d: paging does not end", count)
				}
				page, err := s.ChangesBefore(ctx, org, before, count)
				if err != nil {
					t.Fatalf("ChangesBefore(%q, %d): %v", before, count, err)
				}
				if int64(len(page)) > count {
					t.Fatalf("ChangesBefore(%q, %d) = %d entries", before, count, len(page))
				}
				for _, c := range page {
					got = append(got, c.Seq)
				}
				if int64(len(page)) < count {
					break
				}
				before = page[len(page)-1].Seq
			}
			if fmt.Sprint(got) != fmt.Sprint(seqs(all)) {
				t.Errorf("count %d: pages = %v, want %v", count, got, seqs(all))
			}
		}
		if page, err := s.ChangesBefore(ctx, org, all[total-1].Seq, 10); err != nil || len(page) != 0 {
			t.Errorf("ChangesBefore(oldest) = %v, %v; want none", page, err)
		}
		if page, err := s.ChangesBefore(ctx, org, "0-0", 10); err != nil || len(page) != 0 {
			t.Errorf("ChangesBefore(0-0) = %v, %v; want none", page, err)
		}
		for _, bad := range []string{"x", "1-", "-1", "+", "(1-0", "1-0 ", "18446744073709551616-0", "+1-0", "1-+0"} {
			_, err := s.ChangesBefore(ctx, org, bad, 10)
			wantCode(t, fmt.Sprintf("ChangesBefore(%q)", bad), err, resources.InvalidValue)
		}
	})
}

func seqs(cs []resources.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Seq
	}
	return out
}

func TestTokenLastUsed(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mk := func(name, hash string) resources.Token {
			return resources.Token{Org: org, Name: name, Role: resources.RoleReader, Hash: hash, Created: time.Now().UTC()}
		}
		for _, tok := range []resources.Token{mk("a", "ha"), mk("b", "hb")} {
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatalf("CreateToken(%s): %v", tok.Name, err)
			}
		}
		used := func() map[string]time.Time {
			t.Helper()
			ts, err := s.ListTokens(ctx, org)
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			out := map[string]time.Time{}
			for _, tok := range ts {
				out[tok.Name] = tok.LastUsed
			}
			return out
		}
		if got := used(); len(got) != 2 || !got["a"].IsZero() || !got["b"].IsZero() {
			t.Fatalf("LastUsed before any use = %v, want two zeros", got)
		}
		n := len(allChanges(t, s))
		start := time.Now().Add(-time.Second)
		if err := s.TouchToken(ctx, org, "a", "ha"); err != nil {
			t.Fatalf("TouchToken(a): %v", err)
		}
		if got := used(); got["a"].Before(start) || got["a"].After(time.Now().Add(time.Second)) || !got["b"].IsZero() {
			t.Fatalf("LastUsed after TouchToken(a) = %v, want a about now, b zero", got)
		}
		if got := len(allChanges(t, s)); got != n {
			t.Errorf("TouchToken appended %d change log entries, want none", got-n)
		}
		// A name with no token is not recorded.
		if err := s.TouchToken(ctx, org, "nosuch", "ha"); err != nil {
			t.Fatalf("TouchToken(nosuch): %v", err)
		}
		if s.client.HExists(ctx, "scimd:{acme}:tokenused", "nosuch").Val() {
			t.Errorf("TouchToken of no token recorded a use")
		}
		// Nor is a secret the name does not have.
		if err := s.TouchToken(ctx, org, "b", "ha"); err != nil {
			t.Fatal(err)
		}
		if got := used(); !got["b"].IsZero() {
			t.Errorf("TouchToken of b with a's secret recorded a use of b")
		}
		// A revoked name forgets its use, and so does a replaced token.
		if err := s.TouchToken(ctx, org, "b", "hb"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, org, "a"); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if err := s.PutToken(ctx, mk("b", "hb2")); err != nil {
			t.Fatalf("PutToken: %v", err)
		}
		if err := s.CreateToken(ctx, mk("a", "ha2")); err != nil {
			t.Fatalf("CreateToken(a) again: %v", err)
		}
		if got := used(); !got["a"].IsZero() || !got["b"].IsZero() {
			t.Errorf("LastUsed of a revoked and re-created token and of a replaced one = %v, want zeros", got)
		}
		if n := s.client.Exists(ctx, "scimd:{acme}:tokenused").Val(); n != 0 {
			t.Errorf("the last uses outlive the tokens they were of")
		}
		err := s.TouchToken(ctx, "a{b}", "a", "ha")
		if err == nil {
			t.Errorf("TouchToken of an invalid organization = nil, want an error")
		}
	})
}
