package scim_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/internal/logtest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// createToken creates a token through the owners' API and returns the
// answer's fields.
func (a *api) createToken(body string) map[string]any {
	a.t.Helper()
	st, raw := a.admin("POST", "", ownerToken, body)
	if st != http.StatusCreated {
		a.t.Fatalf("POST %s %s = %d %s, want 201", scim.AdminPath, body, st, raw)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

// listed returns the owners' API's entry of the token name.
func (a *api) listed(name string) map[string]any {
	a.t.Helper()
	st, raw := a.admin("GET", "", ownerToken, "")
	if st != http.StatusOK {
		a.t.Fatalf("GET %s = %d %s", scim.AdminPath, st, raw)
	}
	var list struct{ Tokens []map[string]any }
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		a.t.Fatal(err)
	}
	for _, tok := range list.Tokens {
		if tok["name"] == name {
			return tok
		}
	}
	a.t.Fatalf("GET %s lists no %s: %s", scim.AdminPath, name, raw)
	return nil
}

// TestOrgScopedTokenFormat: a new token names its organization, has a
// checksum, and is listed as org-scoped; a mistyped one is refused.
func TestOrgScopedTokenFormat(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.createToken(`{"name":"okta","role":"collaborator"}`)
		secret, _ := created["token"].(string)
		if !strings.HasPrefix(secret, "scimd_acme_") || created["format"] != "orgScoped" {
			t.Fatalf("created = %v, want an org-scoped secret scimd_acme_…", created)
		}
		if org, scoped, valid := resources.Secret(secret).Org(); org != "acme" || !scoped || !valid {
			t.Errorf("Secret.Org() = %q, %v, %v; want acme, true, true", org, scoped, valid)
		}
		a.do("GET", "/Users", secret, nil).must(t, http.StatusOK)
		// One character changed: the checksum no longer matches.
		typo := secret[:len(secret)-10] + string(secret[len(secret)-10]^1) + secret[len(secret)-9:]
		a.do("GET", "/Users", typo, nil).scimError(t, http.StatusUnauthorized, "", "not valid")
		// Another organization's name in a secret of this one.
		other := "scimd_globex_" + strings.TrimPrefix(secret, "scimd_acme_")
		a.do("GET", "/Users", other, nil).scimError(t, http.StatusUnauthorized, "", "not valid")
		if got := a.listed("okta")["format"]; got != "orgScoped" {
			t.Errorf("listed format = %v, want orgScoped", got)
		}
		if got := a.listed("owner")["format"]; got != "legacy" {
			t.Errorf("listed format of a token of the older format = %v, want legacy", got)
		}
	})
}

// TestAdminBodiesRefuseUnknownFields: a field the admin API does not know is
// a 400 naming it, never ignored (expiresAt was once silently ignored).
func TestAdminBodiesRefuseUnknownFields(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for _, c := range []struct{ path, body, detail string }{
			{"", `{"name":"x","role":"reader","expires":"2030-01-01T00:00:00Z"}`, `unknown field "expires"`},
			{"", `{"name":"x","role":"reader","scopes":["read"]}`, `unknown field "scopes"`},
			{"", `{"name":"x","role":"reader"} {"name":"y"}`, "more than one JSON value"},
			{"", `{"name":"x","role":"reader","expiresAt":"next week"}`, "expiresAt"},
			{"/owner/rotate", `{"previousExpires":"2030-01-01T00:00:00Z"}`, `unknown field "previousExpires"`},
		} {
			r := a.send("POST", scim.AdminPath+c.path, "Bearer "+ownerToken, c.body)
			r.scimError(t, http.StatusBadRequest, "invalidSyntax", c.detail)
		}
		r := a.send("POST", scim.AdminPath, "Bearer "+ownerToken, `{"name":"x","role":"reader","expiresAt":"2020-01-01T00:00:00Z"}`)
		r.scimError(t, http.StatusBadRequest, "invalidValue", "not in the future")
		if st, raw := a.admin("GET", "", ownerToken, ""); strings.Contains(raw, `"x"`) {
			t.Errorf("a refused body made a token: %d %s", st, raw)
		}
	})
}

// loggedHandler serves a's store with a handler that logs to logs, and
// returns its URL and the handler (not serving until a request comes).
func loggedHandler(t *testing.T, a *api, store resources.TokenStore, logs io.Writer, opts ...func(*scim.Config)) (string, *scim.Handler) {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Config.Handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := scim.Config{BaseURL: srv.URL + scim.BasePath, MaxBodyBytes: 64 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	h := scim.NewHandler(cfg, resources.NewUsers(a.store), resources.NewGroups(a.store), store, log)
	srv.Config.Handler = scim.Observe(log, nil, h)
	return srv.URL, h
}

// get sends GET base+path with a bearer token and returns the status.
func get(t *testing.T, base, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokenExpiry: expiresAt is honoured; an expired token is refused like
// an unknown one (401), and the log says it expired, naming the token but
// never its secret, even when the token was cached.
func TestTokenExpiry(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		at := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		created := a.createToken(`{"name":"contractor","role":"reader","expiresAt":"` + at.Format(time.RFC3339) + `"}`)
		if created["expiresAt"] != at.Format(time.RFC3339) {
			t.Errorf("created expiresAt = %v, want %s", created["expiresAt"], at.Format(time.RFC3339))
		}
		a.do("GET", "/Users", created["token"].(string), nil).must(t, http.StatusOK)
		if got := a.listed("contractor")["expiresAt"]; got != at.Format(time.RFC3339) {
			t.Errorf("listed expiresAt = %v, want %s", got, at.Format(time.RFC3339))
		}

		// Tokens whose time has come: written with an expiry in the past.
		ctx := resources.WithActor(context.Background(), "test")
		for _, name := range []string{"expired", "legacy-expired"} {
			var secret resources.Secret = "legacy-expired-token-0123456789"
			if name == "expired" {
				secret = resources.NewTokenSecret("acme")
			}
			tok := resources.NewToken("acme", name, resources.RoleReader, secret, time.Now().UTC())
			tok.Expires = time.Now().Add(-time.Minute)
			if err := a.store.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			var logs logtest.Buffer
			base, _ := loggedHandler(t, a, a.store, &logs, func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
			if st := get(t, base, scim.BasePath+"/Users", string(secret)); st != http.StatusUnauthorized {
				t.Errorf("GET /Users with the %s token = %d, want 401", name, st)
			}
			out := logs.String()
			if !strings.Contains(out, `"msg":"bearer token expired"`) || !strings.Contains(out, `"token_name":"`+name+`"`) {
				t.Errorf("log = %s, want it to say token %s expired", out, name)
			}
			if strings.Contains(out, string(secret)) || strings.Contains(out, resources.HashToken(secret)) {
				t.Errorf("log holds the secret or its hash: %s", out)
			}
		}
	})
}

// TestTokenRotationOverHTTP: a rotation gives a new secret while the old one
// keeps working until previousExpiresAt; the list shows both secrets' last
// uses; DELETE .../previous ends the old one at once on this server.
func TestTokenRotationOverHTTP(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		old := a.createToken(`{"name":"entra","role":"collaborator"}`)["token"].(string)
		a.do("GET", "/Users", old, nil).must(t, http.StatusOK) // cached for an hour

		until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		st, raw := a.admin("POST", "/entra/rotate", ownerToken, `{"previousExpiresAt":"`+until.Format(time.RFC3339)+`"}`)
		if st != http.StatusOK {
			t.Fatalf("rotate = %d %s", st, raw)
		}
		var rotated struct {
			Name, Role, Token, Format string
			Previous                  struct{ ExpiresAt string }
		}
		_ = json.Unmarshal([]byte(raw), &rotated)
		if rotated.Name != "entra" || rotated.Role != "collaborator" || rotated.Format != "orgScoped" ||
			!strings.HasPrefix(rotated.Token, "scimd_acme_") || rotated.Token == old || rotated.Previous.ExpiresAt != until.Format(time.RFC3339) {
			t.Fatalf("rotate = %s, want entra, collaborator, a new org-scoped secret, previous until %s", raw, until.Format(time.RFC3339))
		}
		// Both work: the identity provider is moved without downtime.
		a.do("GET", "/Users", rotated.Token, nil).must(t, http.StatusOK)
		a.do("POST", "/Users", old, user("still.old@example.com", nil)).must(t, http.StatusCreated)
		entry := a.listed("entra")
		prev, _ := entry["previous"].(map[string]any)
		if entry["lastUsed"] == nil || prev == nil || prev["lastUsed"] == nil || prev["expiresAt"] != until.Format(time.RFC3339) {
			t.Errorf("listed = %v, want lastUsed and previous {expiresAt, lastUsed}", entry)
		}

		if st, raw := a.admin("DELETE", "/entra/previous", ownerToken, ""); st != http.StatusNoContent {
			t.Fatalf("DELETE previous = %d %s", st, raw)
		}
		a.do("GET", "/Users", old, nil).must(t, http.StatusUnauthorized)
		a.do("GET", "/Users", rotated.Token, nil).must(t, http.StatusOK)
		if _, ok := a.listed("entra")["previous"]; ok {
			t.Errorf("listed after DELETE previous still has a previous secret")
		}
		for _, c := range []struct {
			method, path, token string
			want                int
		}{
			{"DELETE", "/entra/previous", ownerToken, http.StatusNotFound},
			{"POST", "/nosuch/rotate", ownerToken, http.StatusNotFound},
			{"POST", "/entra/rotate", collabToken, http.StatusForbidden},
			{"POST", "/entra/rotate", otherToken, http.StatusNotFound},
			{"DELETE", "/entra/previous", readerToken, http.StatusForbidden},
		} {
			if st, raw := a.admin(c.method, c.path, c.token, ""); st != c.want {
				t.Errorf("%s %s by %s = %d %s, want %d", c.method, c.path, c.token, st, raw, c.want)
			}
		}
		// Revoking ends both secrets: rotate again, then revoke.
		_, raw = a.admin("POST", "/entra/rotate", ownerToken, "")
		_ = json.Unmarshal([]byte(raw), &rotated)
		if st, _ := a.admin("DELETE", "/entra", ownerToken, ""); st != http.StatusNoContent {
			t.Fatalf("revoke = %d", st)
		}
		a.do("GET", "/Users", rotated.Token, nil).must(t, http.StatusUnauthorized)
	}, func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
}

// TestAccessLogNamesTheActor: the access log line of an API request names
// the client's address, the organization and the token's name, never the
// secret; a refused request names the address.
func TestAccessLogNamesTheActor(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		var logs logtest.Buffer
		base, _ := loggedHandler(t, a, a.store, &logs)
		get(t, base, scim.BasePath+"/Users", readerToken)
		get(t, base, scim.BasePath+"/Users", "wrong-token-0123456789")
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				lines = append(lines, m)
			}
		}
		if len(lines) != 2 {
			t.Fatalf("access lines = %v, want 2", lines)
		}
		if ok := lines[0]; ok["client"] != "127.0.0.1" || ok["org"] != "acme" || ok["token_name"] != "reader" || ok["status"] != float64(200) {
			t.Errorf("access line = %v, want client 127.0.0.1, org acme, token_name reader", ok)
		}
		if bad := lines[1]; bad["client"] != "127.0.0.1" || bad["org"] != nil || bad["token_name"] != nil || bad["status"] != float64(401) {
			t.Errorf("access line of a refused request = %v, want client only", bad)
		}
		if out := logs.String(); strings.Contains(out, readerToken) || strings.Contains(out, "wrong-token") {
			t.Errorf("the log holds a secret: %s", out)
		}
	})
}

// TestOrgScopedTokenNeedsNoGlobalKey: an org-scoped token
// authenticates, and its request is served, by a server (with the limits
// shared through Redis) whose Redis user may touch only organizations' keys
// (scimd:{org}:…) and the limits' (scimd:limit:…): neither the global token
// hash nor the organizations list is on the request path. On a real
// redis-server and a Cluster; the global hash is also deleted. A token of
// the older format needs the global hash, and is refused there.
func TestOrgScopedTokenNeedsNoGlobalKey(t *testing.T) {
	run := func(t *testing.T, a *api, addrs []string) {
		ctx := context.Background()
		secret := a.createToken(`{"name":"entra","role":"collaborator"}`)["token"].(string)
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			// Only keys with an organization's hash tag, and the shared
			// limits' (a token's in its organization's slot, an
			// address's of its own); every command.
			err := c.Do(ctx, "ACL", "SETUSER", "orgonly", "on", ">orgonly-pw", "resetkeys", "~scimd:{*", "~scimd:limit:*", "+@all").Err()
			if err == nil {
				// On Cluster, only the node that has its slot deletes it.
				if err = c.Del(ctx, "scimd:tokens").Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
					err = nil
				}
			}
			c.Close()
			if err != nil {
				t.Fatalf("ACL SETUSER on %s: %v", addr, err)
			}
		}
		restricted := strings.Replace(a.url, "://", "://orgonly:orgonly-pw@", 1)
		store, err := backend.Open(ctx, restricted)
		if err != nil {
			t.Fatalf("backend.Open as orgonly: %v", err)
		}
		t.Cleanup(func() { store.Close() })
		var logs logtest.Buffer
		base, h := loggedHandler(t, &api{t: t, store: store}, store, &logs)
		h.ShareLimits(store) // as several replicas run
		if st := get(t, base, scim.BasePath+"/Users", secret); st != http.StatusOK {
			t.Fatalf("GET /Users with an org-scoped token, no access to global keys = %d, want 200\n%s", st, logs.String())
		}
		req, _ := http.NewRequest("POST", base+scim.BasePath+"/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"slot@example.com"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("POST /Users with an org-scoped token, no access to global keys = %d, want 201\n%s", resp.StatusCode, logs.String())
		}
		if n := h.LimitFallbacks(); n != 0 {
			t.Errorf("the shared limits fell back to the process's own %d times: they read a key out of bounds\n%s", n, logs.String())
		}
		if st := get(t, base, scim.BasePath+"/Users", ownerToken); st == http.StatusOK {
			t.Errorf("a token of the older format authenticated without the global hash")
		}
	}
	t.Run("redis", func(t *testing.T) {
		url := redistest.Start(t)
		u, _ := neturl.Parse(url)
		run(t, newAPI(t, url), []string{u.Host})
	})
	t.Run("cluster", func(t *testing.T) {
		url := redistest.SharedCluster(t)
		u, _ := neturl.Parse(url)
		addrs := append([]string{u.Host}, u.Query()["addr"]...)
		t.Cleanup(func() { // the next test gets the Cluster as it was
			for _, addr := range addrs {
				c := redis.NewClient(&redis.Options{Addr: addr})
				if err := c.Do(context.Background(), "ACL", "DELUSER", "orgonly").Err(); err != nil {
					t.Errorf("ACL DELUSER on %s: %v", addr, err)
				}
				c.Close()
			}
		})
		run(t, newAPI(t, url), addrs)
	})
}
