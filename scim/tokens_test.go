package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
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
	stores(t, func(t *testing.T, a *api) {
		_, body := a.admin("POST", "", ownerToken, `{"name":"short-lived","role":"reader"}`)
		var created struct{ Token string }
		_ = json.Unmarshal([]byte(body), &created)
		a.do("GET", "/Users", created.Token, nil).must(t, http.StatusOK) // now cached for an hour
		if st, body := a.admin("DELETE", "/short-lived", ownerToken, ""); st != http.StatusNoContent {
			t.Fatalf("revoke = %d %s", st, body)
		}
		a.do("GET", "/Users", created.Token, nil).must(t, http.StatusUnauthorized)
	}, func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
}

// TestTokenUseRecorded: a token verified against the store is recorded as
// used, once per cache period; a store that cannot record it does not fail
// the request.
func TestTokenUseRecorded(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		lastUsed := func(name string) time.Time {
			t.Helper()
			ts, err := a.store.ListTokens(context.Background(), "acme")
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			for _, tok := range ts {
				if tok.Name == name {
					return tok.LastUsed
				}
			}
			t.Fatalf("no token %s", name)
			return time.Time{}
		}
		if got := lastUsed("reader"); !got.IsZero() {
			t.Fatalf("LastUsed before any use = %v, want zero", got)
		}
		start := time.Now().Add(-time.Second)
		a.do("GET", "/Users", readerToken, nil).must(t, http.StatusOK)
		first := lastUsed("reader")
		if first.Before(start) || first.After(time.Now().Add(time.Second)) {
			t.Fatalf("LastUsed after a request = %v, want about now", first)
		}
		if got := lastUsed("owner"); !got.IsZero() {
			t.Errorf("owner's LastUsed = %v after the reader's request, want zero", got)
		}
		a.do("GET", "/Users", readerToken, nil).must(t, http.StatusOK) // from the cache
		if got := lastUsed("reader"); !got.Equal(first) {
			t.Errorf("LastUsed after a cached request = %v, want %v (recorded once per cache period)", got, first)
		}
	}, func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
}

// failingTouch is a token store that cannot record token uses.
type failingTouch struct{ *backend.Store }

func (failingTouch) TouchToken(context.Context, string, string, string) error {
	return errors.New("cannot record")
}

func TestTokenUseNotRecordedStillServes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		h := scim.NewHandler(scim.Config{BaseURL: a.srv.URL + scim.BasePath}, resources.NewUsers(a.store), resources.NewGroups(a.store), failingTouch{a.store}, log)
		r := httptest.NewRequest("GET", scim.BasePath+"/Users", nil)
		r.Header.Set("Authorization", "Bearer "+readerToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("GET /Users with a store that cannot record the use = %d %s, want 200", w.Code, w.Body)
		}
		if !strings.Contains(logs.String(), "token use not recorded") || strings.Contains(logs.String(), readerToken) {
			t.Errorf("log = %s, want a warning without the secret", logs.String())
		}
	})
}
