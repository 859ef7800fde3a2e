package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// changes returns an organization's change log of users and groups, oldest
// first (newAPI's token set-up is logged too, as "system").
func (a *api) changes(org string) []resources.Change {
	a.t.Helper()
	cs, err := a.store.Changes(context.Background(), org, 1000)
	if err != nil {
		a.t.Fatalf("Changes: %v", err)
	}
	var out []resources.Change
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Type != resources.TypeToken {
			out = append(out, cs[i])
		}
	}
	return out
}

func TestAuditTrail(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := a.do("POST", "/Users", collabToken, user("jane.doe@example.com", map[string]any{
			"displayName": "Jane Q. Doe", "emails": []any{map[string]any{"value": "jane.doe@example.com", "primary": true}},
			"externalId": "hr-4711",
		})).must(t, http.StatusCreated)
		uid := str(u.body, "id")
		a.do("PATCH", "/Users/"+uid, ownerToken, patch(op("replace", "nickName", "JD"))).must(t, http.StatusOK)
		a.do("PUT", "/Users/"+uid, collabToken, user("jane.doe@example.com", nil)).must(t, http.StatusOK)
		g := a.do("POST", "/Groups", ownerToken, group("Gold customers")).must(t, http.StatusCreated)
		gid := str(g.body, "id")
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": uid}}))).must(t, http.StatusOK)
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("replace", "displayName", "Platinum"))).must(t, http.StatusOK)
		// A PUT that changes the members (a PUT that changes nothing leaves no entry).
		a.do("PUT", "/Groups/"+gid, ownerToken, group("Platinum", uid)).must(t, http.StatusOK)
		a.do("PUT", "/Groups/"+gid, ownerToken, group("Platinum")).must(t, http.StatusOK)
		// Refused and failed requests leave no trace.
		a.do("POST", "/Users", readerToken, user("x@example.com", nil)).must(t, http.StatusForbidden)
		a.do("POST", "/Users", collabToken, user("JANE.DOE@example.com", nil)).must(t, http.StatusConflict)
		a.do("DELETE", "/Users/"+uid, collabToken, nil, "If-Match", `W/"99"`).must(t, http.StatusPreconditionFailed)
		a.do("POST", "/Users", otherToken, user("globex@example.com", nil)).must(t, http.StatusCreated)
		a.do("DELETE", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusNoContent)
		a.do("DELETE", "/Users/"+uid, collabToken, nil).must(t, http.StatusNoContent)

		want := []string{
			"token:collaborator create User " + uid,
			"token:owner patch User " + uid,
			"token:collaborator replace User " + uid,
			"token:owner create Group " + gid,
			"token:owner members Group " + gid,
			"token:owner patch Group " + gid,
			"token:owner replace Group " + gid,
			"token:owner delete Group " + gid,
			"token:collaborator delete User " + uid,
		}
		got := a.changes("acme")
		var lines []string
		for _, c := range got {
			lines = append(lines, fmt.Sprintf("%s %s %s %s", c.Who, c.Action, c.Type, c.ResourceID))
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("acme's change log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		for _, c := range got {
			text := fmt.Sprintf("%+v", c)
			for _, pii := range []string{"jane", "Jane", "Doe", "example.com", "hr-4711", "Gold", "Platinum", "JD"} {
				if strings.Contains(text, pii) {
					t.Errorf("change log entry %s holds personal data %q", text, pii)
				}
			}
			if c.Time.IsZero() {
				t.Errorf("change log entry %s has no time", text)
			}
		}
		if other := a.changes("globex"); len(other) != 1 || other[0].Who != "token:owner" || other[0].Action != resources.ActionCreate {
			t.Errorf("globex's change log = %+v, want its one create", other)
		}
	})
}

func TestAuditTrailBulk(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/Bulk", collabToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
			"Operations": []any{
				map[string]any{"method": "POST", "path": "/Users", "bulkId": "u", "data": user("bulk@example.com", nil)},
				map[string]any{"method": "PATCH", "path": "/Users/bulkId:u", "data": patch(op("replace", "nickName", "B"))},
			},
		}).must(t, http.StatusOK)
		got := a.changes("acme")
		if len(got) != 2 || got[0].Who != "token:collaborator" || got[0].Action != resources.ActionCreate ||
			got[1].Who != "token:collaborator" || got[1].Action != resources.ActionPatch {
			t.Fatalf("change log after /Bulk = %+v, want a create and a patch by the collaborator token; bulk answered %s", got, r.raw)
		}
	})
}

// TestAuditTrailSelfService: a customer's own change through /Me is theirs.
func TestAuditTrailSelfService(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		uid := str(a.do("POST", "/Users", ownerToken, user("self@example.com", map[string]any{"password": "Temporary-pass-1"})).must(t, http.StatusCreated).body, "id")
		req, _ := http.NewRequest("PATCH", a.srv.URL+"/t/acme/scim/v2/Me", strings.NewReader(
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"Chosen-by-me-2"}]}`))
		req.SetBasicAuth("self@example.com", "Temporary-pass-1")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PATCH /Me = %d, want 200", resp.StatusCode)
		}
		cs := a.changes("acme")
		last := cs[len(cs)-1]
		if got, want := fmt.Sprintf("%s %s %s %s", last.Who, last.Action, last.Type, last.ResourceID), "customer:"+uid+" setPassword User "+uid; got != want {
			t.Errorf("last change = %q, want %q", got, want)
		}
	})
}

// TestAuditTokenCannotImitateBuiltInActors: a token may be named like a
// built-in actor ("cli", "system", "self-registration"), or like another
// kind's prefix; its changes still read as that token's ("token:<name>",
// spelled out here, not computed by the code under test), never as the
// built-in actor's nor as an administrator's or a customer's.
func TestAuditTokenCannotImitateBuiltInActors(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		builtIn := []string{"cli", "system", "self-registration"}
		if resources.SystemActor != "system" || resources.RegistrationActor != "self-registration" {
			t.Fatalf("built-in actors are %q and %q, want \"system\" and \"self-registration\"", resources.SystemActor, resources.RegistrationActor)
		}
		for i, c := range []struct{ name, want string }{
			{"cli", "token:cli"},
			{"system", "token:system"},
			{"self-registration", "token:self-registration"},
			{"admin", "token:admin"},
			{"customer", "token:customer"},
		} {
			secret := fmt.Sprintf("imitating-token-%d-0123456789", i)
			err := a.store.PutToken(ctx, resources.Token{Org: "acme", Name: c.name, Role: resources.RoleCollaborator,
				Hash: resources.HashToken(resources.Secret(secret)), Created: time.Now()})
			if err != nil {
				t.Fatalf("PutToken %q: %v", c.name, err)
			}
			a.do("POST", "/Users", secret, user(fmt.Sprintf("imitated-%d@example.com", i), nil)).must(t, http.StatusCreated)
			got := a.changes("acme")
			who := got[len(got)-1].Who
			if who != c.want {
				t.Errorf("the change of a token named %q is recorded as by %q, want %q", c.name, who, c.want)
			}
			if slices.Contains(builtIn, who) || strings.HasPrefix(who, "admin:") || strings.HasPrefix(who, "customer:") {
				t.Errorf("the change of a token named %q is recorded as by %q, a built-in actor, administrator or customer", c.name, who)
			}
		}
	})
}
