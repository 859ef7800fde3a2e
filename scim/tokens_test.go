package scim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
)

// admin sends a request to the owners' token API.
func (a *api) admin(method, path, token, body string) (int, string) {
	a.t.Helper()
	var b any
	if body != "" {
		b = body
	}
	r := a.send(method, scim.AdminPath+path, "Bearer "+token, b)
	return r.status, r.raw
}

func TestOwnersManageTokens(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		st, body := a.admin("POST", "", ownerToken, `{"name":"okta","role":"collaborator"}`)
		if st != http.StatusCreated {
			t.Fatalf("create token: %d %s", st, body)
		}
		var created struct{ Name, Role, Token string }
		_ = json.Unmarshal([]byte(body), &created)
		if created.Name != "okta" || created.Role != "collaborator" || !strings.HasPrefix(created.Token, "scimd_") {
			t.Fatalf("created = %s", body)
		}
		a.do("POST", "/Users", created.Token, user("by-okta@example.com", nil)).must(t, http.StatusCreated)

		st, list := a.admin("GET", "", ownerToken, "")
		if st != http.StatusOK || !strings.Contains(list, `"name":"okta"`) || strings.Contains(list, created.Token) || strings.Contains(list, "hash") {
			t.Errorf("list = %d %s, want okta without secrets", st, list)
		}
		for _, c := range []struct {
			token, method, body string
			want                int
		}{
			{collabToken, "GET", "", http.StatusForbidden},
			{readerToken, "GET", "", http.StatusForbidden},
			{collabToken, "POST", `{"name":"x","role":"owner"}`, http.StatusForbidden},
			{ownerToken, "POST", `{"name":"okta","role":"reader"}`, http.StatusConflict},
			{ownerToken, "POST", `{"name":"bad name!","role":"reader"}`, http.StatusBadRequest},
			{ownerToken, "POST", `{"name":"x","role":"admin"}`, http.StatusBadRequest},
			{"", "GET", "", http.StatusUnauthorized},
		} {
			if st, body := a.admin(c.method, "", c.token, c.body); st != c.want {
				t.Errorf("%s by %q %s = %d %s, want %d", c.method, c.token, c.body, st, body, c.want)
			}
		}
		// Another organization's owner cannot revoke it.
		if st, _ := a.admin("DELETE", "/okta", otherToken, ""); st != http.StatusNotFound {
			t.Errorf("other organization's revoke = %d, want 404", st)
		}
		if st, body := a.admin("DELETE", "/okta", ownerToken, ""); st != http.StatusNoContent {
			t.Fatalf("revoke = %d %s", st, body)
		}
		a.do("GET", "/Users", created.Token, nil).must(t, http.StatusUnauthorized)
		if st, _ := a.admin("DELETE", "/okta", ownerToken, ""); st != http.StatusNotFound {
			t.Errorf("second revoke = %d, want 404", st)
		}
	})
}

// TestRevokedTokenStopsHereAtOnce: a token revoked through a server stops
// working on it at once, whatever its token cache holds.
func TestRevokedTokenStopsHereAtOnce(t *testing.T) {
	a := newAPI(t, "", func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
	_, body := a.admin("POST", "", ownerToken, `{"name":"short-lived","role":"reader"}`)
	var created struct{ Token string }
	_ = json.Unmarshal([]byte(body), &created)
	a.do("GET", "/Users", created.Token, nil).must(t, http.StatusOK) // now cached for an hour
	if st, body := a.admin("DELETE", "/short-lived", ownerToken, ""); st != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", st, body)
	}
	a.do("GET", "/Users", created.Token, nil).must(t, http.StatusUnauthorized)
}
