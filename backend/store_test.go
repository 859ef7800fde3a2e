package backend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

type testStore struct {
	name string
	s    *Store
}

// newTestStores returns an embedded store and, when redis-server is
// available, a store on a real redis-server (see package redistest).
func newTestStores(tb testing.TB) []testStore {
	return testStores(tb, false)
}

// testStores is newTestStores, plus, with cluster set and unless -short, a
// store on a three-node Redis Cluster (slower to start: a few tests use it).
func testStores(tb testing.TB, cluster bool) []testStore {
	tb.Helper()
	ctx := context.Background()
	emb, err := Open(ctx, "")
	if err != nil {
		tb.Fatalf("Open embedded: %v", err)
	}
	tb.Cleanup(func() { _ = emb.Close() })
	out := []testStore{{"embedded", emb}}
	real, ok := realStore(tb)
	if ok {
		out = append(out, testStore{"redis", real})
	}
	if ok && cluster && !testing.Short() {
		addrs := redistest.StartCluster(tb, 3)
		url := "redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
		cs, err := Open(ctx, url)
		if err != nil {
			tb.Fatalf("Open %s: %v", url, err)
		}
		tb.Cleanup(func() { _ = cs.Close() })
		out = append(out, testStore{"cluster", cs})
	}
	return out
}

func realStore(tb testing.TB) (s *Store, ok bool) {
	tb.Helper()
	var url string
	// redistest.Start skips the test when redis-server is missing; run it in
	// a subtest-free way by catching the skip here.
	if !hasRedis(tb) {
		return nil, false
	}
	url = redistest.Start(tb)
	s, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("Open %s: %v", url, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, true
}

func eachStore(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, ts := range newTestStores(t) {
		t.Run(ts.name, func(t *testing.T) { f(t, ts.s) })
	}
}

// eachStoreAndCluster is eachStore with a Redis Cluster variant too.
func eachStoreAndCluster(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, ts := range testStores(t, true) {
		t.Run(ts.name, func(t *testing.T) { f(t, ts.s) })
	}
}

const org = "acme"

func user(userName string, extra ...any) resources.Resource {
	attrs := map[string]any{"userName": userName}
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i].(string)] = extra[i+1]
	}
	return resources.Resource{Attributes: attrs}
}

func group(name string, members ...string) resources.Resource {
	g := resources.Resource{Attributes: map[string]any{"displayName": name}}
	for _, m := range members {
		g.Members = append(g.Members, resources.Ref{ID: m})
	}
	return g
}

func mustCreateUser(t testing.TB, s *Store, u resources.Resource) resources.Resource {
	t.Helper()
	r, err := s.CreateUser(context.Background(), org, u, resources.UserWrite{})
	if err != nil {
		t.Fatalf("CreateUser(%v): %v", u.Attributes["userName"], err)
	}
	return r
}

func mustCreateGroup(t testing.TB, s *Store, g resources.Resource) resources.Resource {
	t.Helper()
	r, err := s.CreateGroup(context.Background(), org, g)
	if err != nil {
		t.Fatalf("CreateGroup(%v): %v", g.Attributes["displayName"], err)
	}
	return r
}

func wantCode(t *testing.T, call string, err error, code resources.Code) {
	t.Helper()
	if got := resources.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %d), want code %d", call, err, got, code)
	}
}

// keys returns every key of the organization, sorted.
func keys(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	pattern := "scimd:{" + org + "}:*"
	var ks []string
	var mu sync.Mutex
	var err error
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			k, err := c.Keys(ctx, pattern).Result()
			mu.Lock()
			ks = append(ks, k...)
			mu.Unlock()
			return err
		})
	} else {
		ks, err = s.client.Keys(ctx, pattern).Result()
	}
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	slices.Sort(ks)
	return ks
}

// dump returns every key and value of the organization, for comparing states.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range keys(t, s) {
		typ := s.client.Type(ctx, k).Val()
		var v any
		switch typ {
		case "hash":
			v = s.client.HGetAll(ctx, k).Val()
		case "zset":
			v = s.client.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "set":
			m := s.client.SMembers(ctx, k).Val()
			slices.Sort(m)
			v = m
		case "stream":
			v = s.client.XRange(ctx, k, "-", "+").Val()
		default:
			v = s.client.Get(ctx, k).Val()
		}
		out[k] = typ + ":" + strings.TrimSpace(fmtAny(v))
	}
	return out
}

func TestUserLifecycle(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, org, user("Ann@Example.com", "displayName", "Ann", "emails",
			[]any{map[string]any{"value": "ann@example.com", "primary": true}}), resources.UserWrite{PasswordHash: "h1"})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.ID == "" || u.Version != 1 || u.Created.IsZero() || !u.Created.Equal(u.Modified) {
			t.Fatalf("CreateUser = %+v, want id, version 1, created = modified", u)
		}
		got, err := s.GetUser(ctx, org, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if got.Version != 1 || got.Attributes["displayName"] != "Ann" || !got.Created.Equal(u.Created) {
			t.Fatalf("GetUser = %+v, want what CreateUser returned %+v", got, u)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "h1" {
			t.Fatalf("PasswordHash = %q, want h1", h)
		}

		u.Attributes["displayName"] = "Annie"
		r, err := s.ReplaceUser(ctx, org, u, 1, resources.UserWrite{})
		if err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		if r.Version != 2 || !r.Created.Equal(u.Created) || !r.Modified.After(u.Created) {
			t.Fatalf("ReplaceUser = %+v, want version 2, same created, later modified", r)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "h1" {
			t.Fatalf("PasswordHash after replace without password = %q, want h1 kept", h)
		}
		if _, err := s.ReplaceUser(ctx, org, u, 2, resources.UserWrite{PasswordHash: "h2"}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "h2" {
			t.Fatalf("PasswordHash = %q, want h2", h)
		}
		got, _ = s.GetUser(ctx, org, u.ID)
		if got.Version != 3 || got.Attributes["displayName"] != "Annie" {
			t.Fatalf("GetUser after replace = %+v", got)
		}

		if err := s.DeleteUser(ctx, org, u.ID, 3); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err = s.GetUser(ctx, org, u.ID)
		wantCode(t, "GetUser after delete", err, resources.NotFound)
		if want := `user "` + u.ID + `" not found`; err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Fatalf("GetUser error = %v, want detail %s", err, want)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "" {
			t.Fatalf("PasswordHash after delete = %q, want none", h)
		}
		// Only the change log and the mark that the userName hashes are
		// complete may remain (users are ordered by their creation times:
		// no sequence counter; the userName's hash went with its entry).
		if ks := keys(t, s); !slices.Equal(ks, []string{"scimd:{acme}:changes", "scimd:{acme}:unames:ready"}) {
			t.Fatalf("keys after deleting the only user = %v, want only the change log and unames:ready", ks)
		}
		err = s.DeleteUser(ctx, org, u.ID, 0)
		wantCode(t, "DeleteUser twice", err, resources.NotFound)
		_, err = s.ReplaceUser(ctx, org, u, 3, resources.UserWrite{})
		wantCode(t, "ReplaceUser deleted", err, resources.NotFound)
	})
}

func TestUserUniqueness(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := mustCreateUser(t, s, user("a@example.com"))
		_, err := s.CreateUser(ctx, org, user("A@Example.COM"), resources.UserWrite{})
		wantCode(t, "CreateUser duplicate", err, resources.Uniqueness)
		var e resources.Error
		if !errors.As(err, &e) || e.Detail != `userName "A@Example.COM" is already taken` {
			t.Fatalf("CreateUser duplicate detail = %q", e.Detail)
		}
		b := mustCreateUser(t, s, user("b@example.com"))
		b.Attributes["userName"] = "A@EXAMPLE.com"
		_, err = s.ReplaceUser(ctx, org, b, 1, resources.UserWrite{})
		wantCode(t, "ReplaceUser to a taken userName", err, resources.Uniqueness)
		// Same user, different case: allowed.
		a.Attributes["userName"] = "A@example.com"
		if _, err := s.ReplaceUser(ctx, org, a, 1, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser changing case of own userName: %v", err)
		}
		if err := s.DeleteUser(ctx, org, a.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		mustCreateUser(t, s, user("a@EXAMPLE.com"))
		// Another organization is independent.
		if _, err := s.CreateUser(ctx, "other", user("b@example.com"), resources.UserWrite{}); err != nil {
			t.Fatalf("CreateUser in another org: %v", err)
		}
		// An explicit id that exists is refused, not overwritten.
		_, err = s.CreateUser(ctx, org, resources.Resource{ID: b.ID, Attributes: map[string]any{"userName": "c@example.com"}}, resources.UserWrite{})
		wantCode(t, "CreateUser with existing id", err, resources.Uniqueness)
	})
}

func TestVersionConflict(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("a@example.com"))
		if _, err := s.ReplaceUser(ctx, org, u, 2, resources.UserWrite{}); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("ReplaceUser stale version: %v, want ErrVersionConflict", err)
		}
		if err := s.DeleteUser(ctx, org, u.ID, 5); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("DeleteUser stale version: %v, want ErrVersionConflict", err)
		}
		g := mustCreateGroup(t, s, group("g"))
		if _, err := s.UpdateGroup(ctx, org, g, 7, resources.MemberDelta{}); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("UpdateGroup stale version: %v, want ErrVersionConflict", err)
		}
		if err := s.DeleteGroup(ctx, org, g.ID, 9); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("DeleteGroup stale version: %v, want ErrVersionConflict", err)
		}
		if err := s.DeleteGroup(ctx, org, g.ID, 1); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
	})
}

func TestConcurrentReplace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("a@example.com"))
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := resources.Resource{ID: u.ID, Attributes: map[string]any{"userName": "a@example.com", "nickName": string(rune('a' + i))}}
				_, errs[i] = s.ReplaceUser(ctx, org, r, 1, resources.UserWrite{})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, resources.ErrVersionConflict):
				t.Fatalf("ReplaceUser: %v, want success or ErrVersionConflict", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent ReplaceUser with version 1 succeeded, want exactly 1", won)
		}
		if got, _ := s.GetUser(ctx, org, u.ID); got.Version != 2 {
			t.Fatalf("version after concurrent replace = %d, want 2", got.Version)
		}
	})
}

func TestTokens(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tok := resources.Token{Org: org, Name: "ci", Role: resources.RoleOwner, Hash: "abc"}
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatalf("PutToken: %v", err)
		}
		got, err := s.TokenByHash(ctx, "abc")
		if err != nil || got.Org != org || got.Role != resources.RoleOwner || got.Name != "ci" {
			t.Fatalf("TokenByHash = %+v, %v; want %+v", got, err, tok)
		}
		_, err = s.TokenByHash(ctx, "nope")
		wantCode(t, "TokenByHash unknown", err, resources.NotFound)
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	if !s.Embedded() {
		t.Fatalf("Embedded() = false for Open(\"\")")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, url := range []string{"localhost:6379", "http://x", "redis+sentinel://localhost:1", "redis://localhost:1/x/y"} {
		if _, err := Open(ctx, url); err == nil {
			t.Errorf("Open(%q) succeeded, want error", url)
		}
	}
	if _, err := s.GetUser(ctx, "", "x"); err == nil {
		t.Errorf("GetUser with empty org succeeded")
	}
	if real, ok := realStore(t); ok && real.Embedded() {
		t.Errorf("Embedded() = true for a redis:// store")
	}
}

// TestDialTimeouts: a URL without timeouts gets scimd's (the README's
// Reliability section states them): a 1 s dial timeout, 5 s read and write
// timeouts; a URL's own win.
func TestDialTimeouts(t *testing.T) {
	type timeouts struct{ dial, read, write time.Duration }
	of := func(c redis.UniversalClient) timeouts {
		switch c := c.(type) {
		case *redis.Client:
			o := c.Options()
			return timeouts{o.DialTimeout, o.ReadTimeout, o.WriteTimeout}
		case *redis.ClusterClient:
			o := c.Options()
			return timeouts{o.DialTimeout, o.ReadTimeout, o.WriteTimeout}
		}
		t.Fatalf("dial returned a %T", c)
		return timeouts{}
	}
	for _, c := range []struct {
		url  string
		want timeouts
	}{
		{"redis://127.0.0.1:1", timeouts{time.Second, 5 * time.Second, 5 * time.Second}},
		{"redis+sentinel://127.0.0.1:1?master_name=m", timeouts{time.Second, 5 * time.Second, 5 * time.Second}},
		{"redis+cluster://127.0.0.1:1", timeouts{time.Second, 5 * time.Second, 5 * time.Second}},
		{"redis://127.0.0.1:1?read_timeout=2s", timeouts{time.Second, 2 * time.Second, 2 * time.Second}},
		{"redis://127.0.0.1:1?dial_timeout=3s&read_timeout=2s&write_timeout=4s", timeouts{3 * time.Second, 2 * time.Second, 4 * time.Second}},
	} {
		client, err := dial(c.url)
		if err != nil {
			t.Fatalf("dial(%q): %v", c.url, err)
		}
		if got := of(client); got != c.want {
			t.Errorf("dial(%q) timeouts = %+v, want %+v", c.url, got, c.want)
		}
		_ = client.Close()
	}
}
