package backend

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestDocFragments checks the dictionary's own rules: at most as many
// fragments as codes, none empty, none twice, none holding a byte a
// document codes with (below 0x20), and none that would end the Lua long
// string luaStoredHash reads them from.
func TestDocFragments(t *testing.T) {
	if n := len(docDict); n == 0 || n > docCodeLast-docCodeFirst+1 {
		t.Fatalf("%d fragments; want 1 to %d", n, docCodeLast-docCodeFirst+1)
	}
	seen := map[string]bool{}
	for i, f := range docDict {
		if f == "" || seen[f] || strings.Contains(f, "]==]") || strings.IndexFunc(f, func(r rune) bool { return r < 0x20 }) >= 0 {
			t.Errorf("fragment %d %q: empty, repeated, with a control byte or ]==]", i, f)
		}
		seen[f] = true
	}
}

// TestDocFragmentsStayPut pins the fragments stored users hold: a code
// means its fragment for good. Append new ones (to docFragments and
// here); never change these.
func TestDocFragmentsStayPut(t *testing.T) {
	want := []string{
		`{"active":true,"emails":[{"primary":true,"type":"work","value":"`,
		`{"active":true,`,
		`{"active":false,`,
		`"emails":[{"primary":true,"type":"work","value":"`,
		`"}],`,
		`"externalId":"`,
		`"name":{"familyName":"`,
		`","givenName":"`,
		`"name":{"givenName":"`,
		`"},"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"`,
		`"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"`,
		`active"`,
		`noPassword"`,
		`pendingInvitation"`,
		`passwordChangeRequired"`,
		`invitationNotDelivered"`,
		`pendingConfirmation"`,
		`disabled","stateWhenEnabled":"`,
		`,"passwordSetup":"invite"`,
		`,"passwordSetup":"temporaryPassword"`,
		`},"userName":"`,
		`","userType":"Customer"}`,
		`"userName":"`,
		`"displayName":"`,
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{`,
		`"department":"`,
		`"employeeNumber":"`,
		`"manager":{"value":"`,
		`"phoneNumbers":[{`,
		`"value":"`,
	}
	if len(docDict) < len(want) || !slices.Equal(docDict[:len(want)], want) {
		t.Fatalf("docDict = %q; its first %d must stay %q", docDict, len(want), want)
	}
}

// docCases are documents whose packing round trip the tests check, with
// the user's key each is packed with.
func docCases(tb testing.TB) []struct{ name, doc, key string } {
	tb.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return string(b)
	}
	bench := map[string]any{"active": true, "userName": "w0007317@example.com", "externalId": "load-7317", "userType": "Customer",
		"name":   map[string]any{"givenName": "Load", "familyName": "User0007317"},
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": "w0007317@example.com"}},
		"urn:scim:schemas:extension:customer:2.0:User": map[string]any{"accountState": "noPassword"}}
	full := map[string]any{"active": false, "userName": "Ann@Example.com", "displayName": "Ann", "externalId": "x",
		"name":         map[string]any{"givenName": "Ann"},
		"phoneNumbers": []any{map[string]any{"type": "mobile", "value": "+1"}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "D", "employeeNumber": "7",
			"manager": map[string]any{"value": "m"}},
		"urn:scim:schemas:extension:customer:2.0:User": map[string]any{"accountState": "disabled", "stateWhenEnabled": "active",
			"passwordSetup": "temporaryPassword"}}
	ctl := map[string]any{"userName": "c@example.com", "displayName": "a\x01b\x02c\x1f\x00d\x7f",
		"externalId": "\"userName\":\"\x03"}
	uni := map[string]any{"userName": "zoë@exämple.com", "displayName": "東京 😀 \u2028 <&>",
		"name": map[string]any{"familyName": "Ünïcode", "givenName": "\"name\":{"}}
	reversed := slices.Clone(docDict)
	slices.Reverse(reversed)
	return []struct{ name, doc, key string }{
		{"bench user", enc(bench), "w0007317@example.com"},
		{"every attribute", enc(full), "ann@example.com"},
		{"every fragment in a row", strings.Join(docDict, ""), ""},
		{"every fragment, reversed", strings.Join(reversed, "x"), "x"},
		{"control characters in values", enc(ctl), "c@example.com"},
		{"unicode", enc(uni), "zoë@exämple.com"},
		{"key holding fragments", `{"userName":"active\",\"value\":\"","x":"active\",\"value\":\""}`, `active\",\"value\":\"`},
		{"key is a fragment", `{"userName":"\"userName\":\"","a":"\"userName\":\""}`, `"userName":"`},
		{"key with a control byte", `{"userName":"a\u0002b"}`, "a\x02b"},
		{"empty", `{}`, ""},
		{"no fragment", `{"a":1}`, "a"},
	}
}

// TestPackDoc checks that every document packs and unpacks back to itself,
// that a packed one holds no byte below 0x20 but codes and KEYREF, and that
// the codes make documents smaller.
func TestPackDoc(t *testing.T) {
	for _, c := range docCases(t) {
		t.Run(c.name, func(t *testing.T) {
			packed, err := packDoc([]byte(c.doc), c.key)
			if err != nil {
				t.Fatalf("packDoc(%q, %q): %v", c.doc, c.key, err)
			}
			if got := unpackDoc(string(packed), c.key); got != c.doc {
				t.Fatalf("unpackDoc(packDoc(%q, %q) = %q) = %q", c.doc, c.key, packed, got)
			}
			if strings.IndexByte(string(packed), 0) >= 0 || len(packed) > len(c.doc) {
				t.Errorf("packDoc(%q) = %q: holds NUL or is longer", c.doc, packed)
			}
			if c.name == "every fragment in a row" {
				want := make([]byte, len(docDict))
				for i := range docDict {
					want[i] = byte(docCodeFirst + i)
				}
				if string(packed) != string(want) {
					t.Errorf("packDoc(every fragment) = %q; want each code once, %q", packed, want)
				}
			}
		})
	}
	t.Run("bench user size", func(t *testing.T) {
		c := docCases(t)[0]
		packed, _ := packDoc([]byte(c.doc), c.key)
		if len(packed) > 60 {
			t.Errorf("the bench user's document packs to %d bytes: %q", len(packed), packed)
		}
	})
	t.Run("raw control byte", func(t *testing.T) {
		for _, doc := range []string{"{\"a\":\"\x01\"}", "{\"a\":\"\x1f\"}", "\x00"} {
			if got, err := packDoc([]byte(doc), ""); err == nil {
				t.Errorf("packDoc(%q) = %q; want an error (JSON escapes control bytes)", doc, got)
			}
		}
	})
	t.Run("not coded", func(t *testing.T) {
		// Documents stored before the dictionary, or by Lua's packDoc.
		for _, doc := range []string{`{"userName":"a"}`, "{\"userName\":\"\x01\"}"} {
			want := strings.ReplaceAll(doc, "\x01", "k")
			if got := unpackDoc(doc, "k"); got != want {
				t.Errorf("unpackDoc(%q) = %q; want %q", doc, got, want)
			}
		}
	})
}

// FuzzPackDoc: any text without control bytes packs and unpacks back to
// itself, whatever the key.
func FuzzPackDoc(f *testing.F) {
	for _, c := range docCases(f) {
		f.Add(c.doc, c.key)
	}
	f.Fuzz(func(t *testing.T, doc, key string) {
		packed, err := packDoc([]byte(doc), key)
		if strings.IndexFunc(doc, func(r rune) bool { return r < 0x20 }) >= 0 {
			if err == nil {
				t.Fatalf("packDoc(%q) = %q; want an error", doc, packed)
			}
			return
		}
		if err != nil {
			t.Fatalf("packDoc(%q, %q): %v", doc, key, err)
		}
		if got := unpackDoc(string(packed), key); got != doc {
			t.Fatalf("unpackDoc(packDoc(%q, %q) = %q) = %q", doc, key, packed, got)
		}
	})
}

// TestLuaPackDoc checks the scripts' packDoc and unpackDoc against Go's:
// what one packs, the other unpacks back to the document.
func TestLuaPackDoc(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, c := range docCases(t) {
			lua, err := s.client.Eval(ctx, luaStoredHash+"return packDoc(ARGV[1], ARGV[2])", []string{"scimd:{" + org + "}:x"}, c.doc, c.key).Text()
			if got := unpackDoc(lua, c.key); err != nil || got != c.doc {
				t.Errorf("%s: unpackDoc(the scripts' packDoc = %q, %v) = %q; want %q", c.name, lua, err, got, c.doc)
			}
			if c.name == "bench user" && len(lua) > 60 {
				t.Errorf("%s: the scripts' packDoc = %q: %d bytes", c.name, lua, len(lua))
			}
			packed, err := packDoc([]byte(c.doc), c.key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.client.Eval(ctx, luaStoredHash+"return unpackDoc(ARGV[1], ARGV[2])", []string{"scimd:{" + org + "}:x"}, packed, c.key).Text()
			if err != nil || got != c.doc {
				t.Errorf("%s: the scripts' unpackDoc(%q) = %q, %v; want %q", c.name, packed, got, err, c.doc)
			}
		}
	})
}

// TestEncodeEntries checks Go's encodeEntries against the scripts' (and
// decodeEntries against it): the same compact form, the same list back.
func TestEncodeEntries(t *testing.T) {
	lists := [][]string{
		{},
		{"userName", "a@b.c"},
		{"userName", "a@b.c", "emails.value", "a@b.c", "emails.value", "x@b.c", "externalId", "a@b.c"},
		{"externalId", "e", "userName", "k", "displayName", "k", "userName", "k"},
		{"userName", "", "name.familyName", "", "active", "true"},
		{"userName", "k", "name.familyName#3", "abc", "name.familyName#3", "bcd", "custom#3", "k", "urn:x:y", "v=", "urn:x:y", "w"},
	}
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, l := range lists {
			got := encodeEntries(l)
			lua, err := s.client.Eval(ctx, luaStoredHash+"return encodeEntries(cjson.decode(ARGV[1]))",
				[]string{"scimd:{" + org + "}:x"}, entriesJSON(l)).Text()
			if err != nil || got != lua {
				t.Errorf("encodeEntries(%q) = %q; the scripts' = %q, %v", l, got, lua, err)
			}
			back, key, err := decodeEntries(got)
			if err != nil || !slices.Equal(back, l) || key != entriesKey(l) {
				t.Errorf("decodeEntries(%q) = %q, %q, %v; want %q, %q", got, back, key, err, l, entriesKey(l))
			}
		}
	})
}

// TestCodedDocuments stores users whose documents use the dictionary, and
// reads them back through every reader: Go's (by id, userName eq, a list),
// the scripts' readHash (which Check, the upgrade and the sweeps use), a
// PATCH-like replace and a delete; Check finds nothing at each step.
func TestCodedDocuments(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		p := "scimd:{" + org + "}:"
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		clean := func(when string) {
			t.Helper()
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("%s: Check found %s", when, f) }); err != nil {
				t.Fatalf("%s: Check: %v", when, err)
			}
		}
		cases := docCases(t)
		enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		var ids []string
		for _, c := range cases {
			var attrs map[string]any
			if json.Unmarshal([]byte(c.doc), &attrs) != nil || attrs["userName"] == nil {
				continue // not a user's document
			}
			u, err := s.CreateUser(ctx, org, resources.Resource{Attributes: attrs}, resources.UserWrite{})
			if err != nil {
				t.Fatalf("CreateUser(%s): %v", c.name, err)
			}
			ids = append(ids, u.ID)
			key := p + "user:" + u.ID
			h := s.client.HGetAll(ctx, key).Val()
			body := joinChunks(h, "")
			if doc, _, _ := strings.Cut(body, "\x00"); strings.IndexFunc(doc, func(r rune) bool { return r >= 2 && r < 0x20 }) < 0 && c.name != "no fragment" {
				t.Errorf("%s: stored body %q holds no code", c.name, body)
			}
			got, err := s.GetUser(ctx, org, u.ID)
			if err != nil || string(got.Raw) != string(u.Raw) {
				t.Fatalf("GetUser(%s) = %s, %v; want %s", c.name, got.Raw, err, u.Raw)
			}
			lua, err := s.client.Eval(ctx, luaStoredHash+"return readHash(KEYS[1]).doc", []string{key}).Text()
			if err != nil || lua != string(u.Raw) {
				t.Errorf("readHash(%s).doc = %q, %v; want %q", c.name, lua, err, u.Raw)
			}
			f, err := resources.ParseFilter(schemas.Users(), `userName eq `+enc(attrs["userName"]), "")
			if err != nil {
				t.Fatal(err)
			}
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: f, StartIndex: 1, Count: 10})
			if err != nil || len(page.Resources) != 1 || string(page.Resources[0].Raw) != string(u.Raw) {
				t.Errorf("ListUsers(userName eq, %s) = %+v, %v; want %s", c.name, page.Resources, err, u.Raw)
			}
		}
		clean("created")

		page, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: 100})
		if err != nil || len(page.Resources) != len(ids) {
			t.Fatalf("ListUsers = %d users, %v; want %d", len(page.Resources), err, len(ids))
		}
		for _, r := range page.Resources {
			if err := r.DecodeAttributes(); err != nil {
				t.Errorf("ListUsers: user %s: %s: %v", r.ID, r.Raw, err)
			}
		}

		// A replace of a coded record reads it (readHash) and writes a new
		// one; the scripts' own writes (the substring sweep) code what
		// readHash expanded again, and read back the same.
		for _, id := range ids {
			u, err := s.GetUser(ctx, org, id)
			if err != nil {
				t.Fatal(err)
			}
			u.Attributes["displayName"] = "Réplaced \"displayName\":\""
			u.Attributes["name"] = map[string]any{"familyName": "Coded", "givenName": "x"}
			replaced, err := s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{})
			if err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
			if got, err := s.GetUser(ctx, org, id); err != nil || string(got.Raw) != string(replaced.Raw) {
				t.Errorf("GetUser after ReplaceUser = %s, %v; want %s", got.Raw, err, replaced.Raw)
			}
		}
		clean("replaced")
		if _, err := s.SetSubstringSearch(ctx, org, []string{"name.familyName"}); err != nil {
			t.Fatalf("SetSubstringSearch: %v", err)
		}
		for _, id := range ids {
			got, err := s.GetUser(ctx, org, id)
			if err != nil || !strings.Contains(string(got.Raw), `"familyName":"Coded"`) || got.DecodeAttributes() != nil {
				t.Errorf("GetUser after the sweep = %s, %v", got.Raw, err)
			}
			h := s.client.HGetAll(ctx, p+"user:"+id).Val()
			if ix := storedUserField(t, h, "ix"); !strings.Contains(ix, "name.familyName#3") || layoutOf(h) != "compact" {
				t.Errorf("user %s after the sweep: entries %s, fields %q; want trigrams, a coded document", id, ix, h)
			}
		}
		clean("swept")
		found, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: [][]resources.Prefix{{{Attr: "name.familyName", Value: "cod"}}}, Count: 100})
		if err != nil || len(found.Resources) != len(ids) {
			t.Errorf("SearchUsers(familyName) = %d users, %v; want %d", len(found.Resources), err, len(ids))
		}
		for _, id := range ids {
			if err := s.DeleteUser(ctx, org, id, 0); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
		clean("deleted")
	})
}

// BenchmarkStoredBody is the Go side of a user write's body: packing the
// bench user's document, encoding its entries, cutting the chunks.
func BenchmarkStoredBody(b *testing.B) {
	c := docCases(b)[0]
	entries := []string{"userName", c.key, "externalId", "load-7317", "emails.value", c.key, "name.givenName", "load", "name.familyName", "user0007317"}
	for b.Loop() {
		if _, err := storedBody([]byte(c.doc), entries); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpackDoc is a read's expansion of the bench user's stored
// document.
func BenchmarkUnpackDoc(b *testing.B) {
	c := docCases(b)[0]
	packed, err := packDoc([]byte(c.doc), c.key)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = unpackDoc(string(packed), c.key)
	}
}
