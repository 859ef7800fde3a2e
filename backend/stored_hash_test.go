package backend

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// storedField returns the field name of the hash key whole, as the scripts'
// readHash does: a user's doc and ix are stored in chunks (luaStoredHash).
func storedField(tb testing.TB, ctx context.Context, c redis.Cmdable, key, name string) string {
	tb.Helper()
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		tb.Fatalf("HGETALL %s: %v", key, err)
	}
	v, _ := storedValue(h, name)
	return v
}

// setStoredField replaces the field name of the hash key with value, stored
// whole (the layout written before chunks, which every reader accepts): for
// tests that corrupt a stored resource.
func setStoredField(tb testing.TB, ctx context.Context, c redis.Cmdable, key, name, value string) {
	tb.Helper()
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		tb.Fatalf("HGETALL %s: %v", key, err)
	}
	for i := 0; ; i++ {
		f := name + "." + strconv.Itoa(i)
		if _, ok := h[f]; !ok {
			break
		}
		if err := c.HDel(ctx, key, f).Err(); err != nil {
			tb.Fatalf("HDEL %s %s: %v", key, f, err)
		}
	}
	if err := c.HSet(ctx, key, name, value).Err(); err != nil {
		tb.Fatalf("HSET %s %s: %v", key, name, err)
	}
}

// toOldLayout rewrites a user's hash as versions before chunks wrote it:
// doc and ix whole, in one field each.
func toOldLayout(tb testing.TB, ctx context.Context, c redis.Cmdable, key string) {
	tb.Helper()
	for _, name := range []string{"doc", "ix"} {
		setStoredField(tb, ctx, c, key, name, storedField(tb, ctx, c, key, name))
	}
	h := c.HGetAll(ctx, key).Val()
	if _, ok := h["doc.0"]; ok || h["doc"] == "" || h["ix"] == "" {
		tb.Fatalf("user %s not in the old layout: %q", key, h)
	}
}

// chunkFieldsOf returns the chunk fields (doc.N, ix.N) of a hash and
// whether it still has the whole doc or ix fields.
func chunkFieldsOf(h map[string]string) (chunks []string, whole bool) {
	for f := range h {
		switch {
		case f == "doc" || f == "ix":
			whole = true
		case len(f) > 3 && (f[:4] == "doc." || f[:3] == "ix."):
			chunks = append(chunks, f)
		}
	}
	return chunks, whole
}

// TestUserWrittenInTheOldLayout reads, searches, updates and deletes a user
// whose hash holds its document and index entries whole, as versions before
// chunked fields (luaStoredHash) wrote it, with its groups; Check finds
// nothing at every step, and its first write moves it to chunks.
func TestUserWrittenInTheOldLayout(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		clean := func(when string) {
			t.Helper()
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("%s: Check found %s", when, f) }); err != nil {
				t.Fatalf("%s: Check: %v", when, err)
			}
		}
		u, err := s.CreateUser(ctx, org, user("Old@Example.com", "externalId", "old-1", "active", true,
			"name", map[string]any{"givenName": "Olga", "familyName": "Oldfield"},
			"emails", []any{map[string]any{"value": "old@example.com", "primary": true}}), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		g, err := s.CreateGroup(ctx, org, resources.Resource{Attributes: map[string]any{"displayName": "Olds"}, Members: []resources.Ref{{ID: u.ID}}})
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		key := p + "user:" + u.ID
		before, err := s.GetUser(ctx, org, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		toOldLayout(t, ctx, s.client, key)
		clean("old layout")

		got, err := s.GetUser(ctx, org, u.ID)
		if err != nil || string(got.Raw) != string(before.Raw) || got.Version != before.Version || len(got.Groups) != 1 {
			t.Fatalf("GetUser of the old layout = %s v%d %v, %v; want %s v%d in %s", got.Raw, got.Version, got.Groups, err, before.Raw, before.Version, g.ID)
		}
		f, err := resources.ParseFilter(schemas.Users(), `userName eq "old@example.com"`, "")
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: f, StartIndex: 1, Count: 10})
		if err != nil || len(page.Resources) != 1 || string(page.Resources[0].Raw) != string(before.Raw) {
			t.Fatalf("ListUsers(userName eq) of the old layout = %+v, %v", page.Resources, err)
		}
		found, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: [][]resources.Prefix{{{Attr: "name.familyName", Value: "oldf"}}}, Count: 10})
		if err != nil || len(found.Resources) != 1 {
			t.Fatalf("SearchUsers(familyName) of the old layout = %+v, %v", found.Resources, err)
		}

		// The first write moves it to chunks and moves its index entries.
		got.Attributes["name"] = map[string]any{"givenName": "Olga", "familyName": "Newfield"}
		replaced, err := s.ReplaceUser(ctx, org, got, got.Version, resources.UserWrite{})
		if err != nil {
			t.Fatalf("ReplaceUser of the old layout: %v", err)
		}
		h := s.client.HGetAll(ctx, key).Val()
		if chunks, whole := chunkFieldsOf(h); whole || len(chunks) < 2 {
			t.Errorf("after ReplaceUser: fields %q; want doc and ix in chunks only", h)
		}
		if s.client.ZScore(ctx, p+"ix:user:name.familyName", "oldfield\x00"+u.ID).Err() == nil ||
			s.client.ZScore(ctx, p+"ix:user:name.familyName", "newfield\x00"+u.ID).Err() != nil {
			t.Errorf("after ReplaceUser: the familyName index was not moved")
		}
		reread, err := s.GetUser(ctx, org, u.ID)
		if err != nil || reread.Version != replaced.Version || string(reread.Raw) != string(replaced.Raw) {
			t.Errorf("GetUser after ReplaceUser = %s v%d, %v; want %s v%d", reread.Raw, reread.Version, err, replaced.Raw, replaced.Version)
		}
		clean("replaced")

		// Deleting a user of the old layout frees every index entry.
		toOldLayout(t, ctx, s.client, key)
		if err := s.DeleteUser(ctx, org, u.ID, 0); err != nil {
			t.Fatalf("DeleteUser of the old layout: %v", err)
		}
		for _, ix := range s.users.indexes {
			n, err := s.client.ZCard(ctx, p+"ix:user:"+ix.name).Result()
			if err != nil || n != 0 {
				t.Errorf("after DeleteUser: %s holds %d entries, %v", ix.name, n, err)
			}
		}
		if n := s.client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("after DeleteUser: %s exists", key)
		}
		clean("deleted")
	})
}

// TestUserChunks stores a user whose document grows past many chunks and
// shrinks again: no chunk of the longer one is left, the document reads
// back whole each time, and on Redis the hash keeps its compact encoding.
func TestUserChunks(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key := "scimd:{" + org + "}:user:"
		u, err := s.CreateUser(ctx, org, user("chunky@example.com"), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		key += u.ID
		if !s.Embedded() {
			if enc := s.client.ObjectEncoding(ctx, key).Val(); enc != "listpack" {
				t.Errorf("OBJECT ENCODING of a new user = %q, want listpack", enc)
			}
		}
		for _, size := range []int{700, 0, 130, 64, 63, 1} {
			cur, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if size > 0 {
				cur.Attributes["nickName"] = strings.Repeat("é", size/2)
			} else {
				delete(cur.Attributes, "nickName")
			}
			w, err := s.ReplaceUser(ctx, org, cur, cur.Version, resources.UserWrite{})
			if err != nil {
				t.Fatalf("ReplaceUser (nickName of %d bytes): %v", size, err)
			}
			got, err := s.GetUser(ctx, org, u.ID)
			if err != nil || string(got.Raw) != string(w.Raw) {
				t.Fatalf("GetUser after a document of %d bytes = %s, %v; want %s", len(w.Raw), got.Raw, err, w.Raw)
			}
			h := s.client.HGetAll(ctx, key).Val()
			chunks, whole := chunkFieldsOf(h)
			want := (len(w.Raw)+63)/64 + (len(h["ix.0"])+len(h["ix.1"])+63)/64
			if whole || len(chunks) != want {
				t.Errorf("document of %d bytes: chunk fields %v, want %d and no whole field", len(w.Raw), chunks, want)
			}
		}
		if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("Check found %s", f) }); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}
