package backend

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// checkURN is the custom schema of the check's tests: an indexed string, a
// unique one, an indexed sub-attribute, and one removed while its purge is
// pending.
const checkURN = "urn:example:scim:schemas:extension:check:1.0:User"

func checkSchema(withGone bool) []byte {
	attrs := []any{
		map[string]any{"name": "tier", "type": "string", "indexed": true},
		map[string]any{"name": "number", "type": "string", "uniqueness": "server"},
		map[string]any{"name": "address", "type": "complex", "subAttributes": []any{map[string]any{"name": "city", "type": "string", "indexed": true}}},
	}
	if withGone {
		attrs = append(attrs, map[string]any{"name": "gone", "type": "string", "indexed": true, "uniqueness": "server"})
	}
	raw, _ := json.Marshal(map[string]any{"id": checkURN, "attributes": attrs})
	return raw
}

// customFixture defines checkSchema in org and creates two users with
// values of every attribute; the attribute "gone" is then removed with its
// purge left pending (the store's change alone, as a server that stopped
// before purging leaves it).
func customFixture(t *testing.T, s *Store) (ann, ben string) {
	t.Helper()
	ctx := resources.WithActor(context.Background(), "cli")
	users := resources.NewUsers(s)
	if _, err := s.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if _, err := users.DefineExtension(ctx, org, checkSchema(true), ""); err != nil {
		t.Fatalf("DefineExtension: %v", err)
	}
	create := func(name, tier, number, city string) string {
		t.Helper()
		r, err := users.Create(ctx, org, map[string]any{"schemas": []any{schemas.UserURN, checkURN}, "userName": name,
			checkURN: map[string]any{"tier": tier, "number": number, "address": map[string]any{"city": city}, "gone": "g-" + number}})
		if err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		return r.ID
	}
	ann, ben = create("ann@example.com", "Gold", "N-1", "Ghent"), create("ben@example.com", "silver", "N-2", "Bruges")
	set, err := s.Extensions(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ChangeExtension(ctx, org, resources.ExtensionChange{URN: checkURN, Definition: mustParse(t, checkSchema(false)),
		Generation: set.Generation, Purge: []resources.PurgeTarget{{URN: checkURN, Attr: "gone"}}, Action: resources.ActionReplace})
	if err != nil {
		t.Fatalf("ChangeExtension: %v", err)
	}
	return ann, ben
}

func mustParse(t *testing.T, raw []byte) []byte {
	t.Helper()
	d, err := schemas.ParseDefinition(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(d)
	return out
}

// TestCheckCustomAttributes: a store with indexed and unique custom
// attributes written by the services is clean, with a pending purge as work
// left and after it; each broken entry of a custom index or uniqueness
// hash, or of a user's own record of them, is reported.
func TestCheckCustomAttributes(t *testing.T) {
	const p = "scimd:{" + org + "}:"
	ctx := context.Background()
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ann, ben := customFixture(t, s)
		got, st := check(t, s)
		if len(got) != 0 || st.PendingPurges != 1 || st.Users != 2 {
			t.Fatalf("Check with a pending purge: %d pending, %d users, findings:\n%s", st.PendingPurges, st.Users, findingLines(got))
		}
		snap := snapshot(t, s)
		type want struct{ key, id, code string }
		cases := []struct {
			name    string
			corrupt func(c redis.Cmdable)
			want    want
		}{
			{"custom index entry deleted", func(c redis.Cmdable) {
				c.ZRem(ctx, p+"ix:user:"+checkURN+":tier", "gold\x00"+ann)
			}, want{p + "ix:user:" + checkURN + ":tier", ann, "index-missing"}},
			{"stale custom index entry", func(c redis.Cmdable) {
				c.ZAdd(ctx, p+"ix:user:"+checkURN+":address.city", redis.Z{Member: "paris\x00" + ben})
			}, want{p + "ix:user:" + checkURN + ":address.city", ben, "index-stale"}},
			{"stray entry of a purging index", func(c redis.Cmdable) {
				c.ZAdd(ctx, p+"ix:user:"+checkURN+":gone", redis.Z{Member: "x\x00no-such-user"})
			}, want{p + "ix:user:" + checkURN + ":gone", "no-such-user", "index-stray"}},
			{"stored entries lack a custom index entry", func(c redis.Cmdable) {
				setStoredField(t, ctx, c, p+"user:"+ben, "ix", `["userName","ben@example.com","`+checkURN+`:tier","silver"]`)
			}, want{p + "user:" + ben, ben, "ix-stale"}},
			{"claim deleted", func(c redis.Cmdable) {
				c.HDel(ctx, p+"unique:user:"+checkURN+":number", "n-1")
			}, want{p + "unique:user:" + checkURN + ":number", ann, "unique-missing"}},
			{"claim of a missing user", func(c redis.Cmdable) {
				c.HSet(ctx, p+"unique:user:"+checkURN+":number", "n-9", "ghost")
			}, want{p + "unique:user:" + checkURN + ":number", "ghost", "unique-stray"}},
			{"claim the user does not record", func(c redis.Cmdable) {
				c.HSet(ctx, p+"unique:user:"+checkURN+":number", "n-9", ann)
			}, want{p + "unique:user:" + checkURN + ":number", ann, "unique-stale"}},
			{"stored claims disagree with the document", func(c redis.Cmdable) {
				c.HSet(ctx, p+"user:"+ann, "uq", `[]`)
			}, want{p + "user:" + ann, ann, "uq-stale"}},
			{"stored claims are not a list", func(c redis.Cmdable) {
				c.HSet(ctx, p+"user:"+ann, "uq", `{`)
			}, want{p + "user:" + ann, ann, "uq-invalid"}},
			{"stored definition broken", func(c redis.Cmdable) {
				c.HSet(ctx, p+"exts", "urn:x:y", `{"id":"urn:x:y"}`)
			}, want{p + "exts", "", "schema-invalid"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				restore(t, s, snap)
				c.corrupt(s.client)
				got, _ := check(t, s)
				for _, g := range got {
					if FindingCodes[g.Code] == "" {
						t.Errorf("finding %v has a code with no description", g)
					}
				}
				if !slices.ContainsFunc(got, func(f Finding) bool { return f.Key == c.want.key && f.ID == c.want.id && f.Code == c.want.code }) {
					t.Errorf("Check found:\n%swant %s %s %s", findingLines(got), c.want.key, c.want.id, c.want.code)
				}
			})
		}
		restore(t, s, snap)
		// The purge done: clean, nothing pending, the removed attribute's
		// keys gone (else they would be unknown keys).
		if _, err := s.PurgeExtensions(ctx, org); err != nil {
			t.Fatalf("PurgeExtensions: %v", err)
		}
		if got, st := check(t, s); len(got) != 0 || st.PendingPurges != 0 {
			t.Fatalf("Check after the purge: %d pending, findings:\n%s", st.PendingPurges, findingLines(got))
		}
		// A leftover key of a removed attribute is unknown once its purge
		// is done.
		s.client.ZAdd(ctx, p+"ix:user:"+checkURN+":gone", redis.Z{Member: "x\x00" + ann})
		if got, _ := check(t, s); !slices.ContainsFunc(got, func(f Finding) bool { return f.Code == "key-unknown" }) {
			t.Errorf("Check of a removed attribute's leftover index found:\n%s", findingLines(got))
		}
	})
}
