package backend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// TestCreateUsersWritesWhatCreateUserWrites creates the same users one by
// one in one organization and in one pipelined batch in another: the two
// organizations hold the same keys, and the same user hashes but for the
// times; a taken userName fails its user only.
func TestCreateUsersWritesWhatCreateUserWrites(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		attrs := func(i int) map[string]any {
			names := []string{"ann@example.com", "bob@example.com", "cy@example.com"}
			return map[string]any{"userName": names[i], "externalId": "x" + names[i][:1], "active": true,
				"name":   map[string]any{"givenName": "G", "familyName": strings.ToUpper(names[i][:2])},
				"emails": []any{map[string]any{"value": names[i], "primary": true}}}
		}
		ids := []string{"id-0", "id-1", "id-2"}
		var batch []resources.Resource
		for i, id := range ids {
			if _, err := s.CreateUser(ctx, "one", resources.Resource{ID: id, Attributes: attrs(i)}, resources.UserWrite{PasswordHash: "h" + id}); err != nil {
				t.Fatalf("CreateUser(%s): %v", id, err)
			}
			batch = append(batch, resources.Resource{ID: id, Attributes: attrs(i)})
		}
		// One more, whose userName the batch already holds, in another case.
		taken := attrs(1)
		taken["userName"] = "BOB@example.com"
		batch = append(batch, resources.Resource{ID: "id-3", Attributes: taken})
		ws := []resources.UserWrite{{PasswordHash: "hid-0"}, {PasswordHash: "hid-1"}, {PasswordHash: "hid-2"}, {}}

		created, errs, err := s.CreateUsers(ctx, "two", batch, ws)
		if err != nil {
			t.Fatalf("CreateUsers: %v", err)
		}
		for i := range ids {
			if errs[i] != nil || created[i].ID != ids[i] || created[i].Version != 1 {
				t.Errorf("CreateUsers: user %d = %+v, %v; want %s version 1", i, created[i], errs[i], ids[i])
			}
		}
		var e resources.Error
		if !errors.As(errs[3], &e) || e.Code != resources.Uniqueness {
			t.Errorf("CreateUsers: the taken userName gave %v, want a Uniqueness error", errs[3])
		}

		if one, two := orgKeys(t, s, "one"), orgKeys(t, s, "two"); !slices.Equal(one, two) {
			t.Errorf("keys one by one %v, in a batch %v", one, two)
		}
		for _, id := range ids {
			one := s.client.HGetAll(ctx, "scimd:{one}:user:"+id).Val()
			two := s.client.HGetAll(ctx, "scimd:{two}:user:"+id).Val()
			for _, f := range []string{"doc", "ver", "disp", "ix"} {
				a, _ := storedValue(one, f)
				b, _ := storedValue(two, f)
				if a != b || a == "" {
					t.Errorf("user %s field %s: one by one %q, in a batch %q", id, f, a, b)
				}
			}
			for _, org := range []string{"one", "two"} {
				if u, err := s.GetUser(ctx, org, id); err != nil || u.Attributes["userName"] != attrs(slices.Index(ids, id))["userName"] {
					t.Errorf("GetUser(%s, %s) = %v, %v", org, id, u.Attributes, err)
				}
			}
		}
		for _, org := range []string{"one", "two"} {
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("Check(%s) found %s", org, f) }); err != nil {
				t.Errorf("Check(%s): %v", org, err)
			}
		}
	})
}

// orgKeys lists an organization's keys without its prefix, sorted.
func orgKeys(t *testing.T, s *Store, org string) []string {
	t.Helper()
	p := "scimd:{" + org + "}:"
	var mu sync.Mutex // eachNode runs on a Cluster's masters at once
	var out []string
	err := eachNode(context.Background(), s, func(ctx context.Context, c redis.Cmdable) error {
		keys, err := c.Keys(ctx, p+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			out = append(out, strings.TrimPrefix(k, p))
		}
		return err
	})
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	slices.Sort(out)
	return out
}
