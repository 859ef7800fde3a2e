package resources

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`,
		`USERNAME EQ "a\"b\\c\u00e9"`,
		`emails[type eq "work" and value co "@example.com" and primary eq true]`,
		`emails[type eq "work"].value eq "x" or emails[type eq "home"].value pr`,
		`not (title pr) and (userType eq "A" or userType ne "B")`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		schemas.EnterpriseUserURN + `:manager.value eq "x"`,
		schemas.EnterpriseUserURN + `:manager[value eq "x"]`,
		`members[value eq "u1"]`,
		`active eq "True"`,
		`userName eq null`,
		`userName eq 1.5e3`,
		`emails[value[type eq "x"]]`,
		`scimdlit0 eq "scimdlitvp0"`,
		`emails[type eq "w"].value`,
		"userName eq \"a\"\tand\ntitle pr",
	} {
		f.Add(s)
	}
	user, group := testUserDoc(f), Document(schemas.Groups(), Resource{ID: "g", Attributes: map[string]any{"displayName": "G"}, Members: []Ref{{ID: "u1"}}}, "")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			rt  schemas.ResourceType
			doc map[string]any
		}{{schemas.Users(), user}, {schemas.Groups(), group}} {
			e, err := ParseFilter(c.rt, s, "")
			if err != nil {
				if ErrorCode(err) != InvalidFilter {
					t.Fatalf("ParseFilter(%q) error %v has code %d, want InvalidFilter", s, err, ErrorCode(err))
				}
				continue
			}
			if e == nil {
				t.Fatalf("ParseFilter(%q) = nil, nil", s)
			}
			Match(c.doc, e)
		}
	})
}

func FuzzApplyPatch(f *testing.F) {
	for _, ops := range []string{
		`[{"op":"Replace","path":"active","value":"False"}]`,
		`[{"op":"replace","value":{"active":false}}]`,
		`[{"op":"Add","value":{"name.givenName":"A","emails[type eq \"work\"].value":"a@b"}}]`,
		`[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"1"}]`,
		`[{"op":"replace","path":"addresses[type eq \"work\" and primary eq true].streetAddress","value":"x"}]`,
		`[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
		`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"x"}}]`,
		`[{"op":"add","path":"emails","value":[{"value":"b@x","primary":"True"}]}]`,
		`[{"op":"remove","path":"emails[type eq \"work\"].value"}]`,
		`[{"op":"Remove","path":"emails","value":[{"value":"bjensen@example.com"}]}]`,
		`[{"op":"add","path":"groups","value":[{"value":"g"}]}]`,
		`[{"op":"replace","value":{"meta":{"created":"x"},"id":"y"}}]`,
		`[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]},{"op":"Remove","path":"members[value eq \"u2\"]"}]`,
		`[{"op":"replace","value":{"displayName":"G","members":[{"value":"u3"}]}}]`,
		`[{"op":"remove","path":"members[value sw \"u\"]"}]`,
		`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m","displayName":"d"}}]`,
	} {
		f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`))
	}
	user := map[string]any{
		"userName":                "bjensen@example.com",
		"name":                    map[string]any{"givenName": "Barbara"},
		"emails":                  []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
		schemas.EnterpriseUserURN: map[string]any{"department": "Ops", "manager": map[string]any{"value": "m1"}},
		schemas.CustomerUserURN:   map[string]any{"passwordSetup": "invite"},
	}
	userCopy := deepCopy(user)
	group := map[string]any{"displayName": "G"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParsePatch(body)
		if err != nil {
			if ErrorCode(err) == 0 {
				t.Fatalf("ParsePatch error %v is not a resources.Error", err)
			}
			return
		}
		out, err := ApplyPatch(t.Context(), schemas.Users(), user, ops)
		if !reflect.DeepEqual(user, userCopy) {
			t.Fatalf("ApplyPatch modified its input: %v", user)
		}
		if err == nil {
			checkPatched(t, schemas.Users(), out)
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		} else if ErrorCode(err) == 0 {
			t.Fatalf("ApplyPatch error %v is not a resources.Error", err)
		}

		memberOps, rest, err := SplitMemberOps(schemas.Groups(), ops)
		if err != nil {
			return
		}
		if out, err := ApplyPatch(t.Context(), schemas.Groups(), group, rest); err == nil {
			checkPatched(t, schemas.Groups(), out)
			if _, ok := out["members"]; ok {
				t.Fatalf("members left to ApplyPatch: %v", out)
			}
		}
		for _, op := range memberOps {
			d, err := MemberChange(schemas.Groups(), op, func() ([]string, error) { return []string{"u1", "u2"}, nil })
			if err != nil {
				if ErrorCode(err) == 0 {
					t.Fatalf("MemberChange error %v is not a resources.Error", err)
				}
				continue
			}
			for _, id := range append(d.Add, d.Remove...) {
				if id == "" {
					t.Fatalf("MemberChange(%+v) = %+v: empty id", op, d)
				}
			}
		}
	})
}

// checkPatched fails if a patched document holds a readOnly attribute or
// sub-attribute, or an empty object or array.
func checkPatched(tb testing.TB, rt schemas.ResourceType, doc map[string]any) {
	tb.Helper()
	for k, v := range doc {
		if _, ok := rt.Extension(k); ok {
			m, ok := v.(map[string]any)
			if !ok {
				tb.Fatalf("extension %s is %T, want an object", k, v)
			}
			for sk, sv := range m {
				checkPatchedAttr(tb, rt, k+":"+sk, sv)
			}
			continue
		}
		checkPatchedAttr(tb, rt, k, v)
	}
}

func checkPatchedAttr(tb testing.TB, rt schemas.ResourceType, path string, v any) {
	tb.Helper()
	a, ok := rt.Lookup(path)
	if !ok {
		tb.Fatalf("result holds unknown attribute %q", path)
	}
	if a.Attr.Mutability() == "readOnly" {
		tb.Fatalf("result holds readOnly attribute %q: %v", path, v)
	}
	if !present(v) {
		if _, isString := v.(string); !isString {
			tb.Fatalf("result holds empty attribute %q: %v", path, v)
		}
	}
	for _, e := range attrValues(a.Attr, v) {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		for sk := range m {
			s, ok := rt.Lookup(path + "." + sk)
			if !ok || s.Sub.Mutability() == "readOnly" {
				tb.Fatalf("result holds readOnly or unknown sub-attribute %s.%s", path, sk)
			}
		}
	}
}

// FuzzPatchOp fuzzes one operation's parts, which reaches deeper into path
// parsing and value coercion than mutating whole bodies does.
func FuzzPatchOp(f *testing.F) {
	for _, c := range [][3]string{
		{"Replace", "active", `"False"`},
		{"add", `emails[type eq "work"].value`, `"a@b"`},
		{"add", `phoneNumbers[type eq "mobile" and primary eq true].value`, `"1"`},
		{"replace", `emails[type eq "work"]`, `{"value":"x","primary":"True"}`},
		{"remove", `emails[not (type eq "work")]`, `null`},
		{"Remove", "emails", `[{"value":"bjensen@example.com"}]`},
		{"replace", "", `{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m2"}}`},
		{"replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", `"x"`},
		{"remove", "urn:scim:schemas:extension:customer:2.0:User", `null`},
		{"add", "groups", `[{"value":"g"}]`},
		{"replace", "userName", `"BJENSEN@example.com"`},
		{"add", "members", `[{"value":"u1"}]`},
		{"remove", `members[value eq "u1" or value sw "u"]`, `null`},
	} {
		f.Add(c[0], c[1], c[2])
	}
	user := map[string]any{
		"userName":                "bjensen@example.com",
		"emails":                  []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
		schemas.EnterpriseUserURN: map[string]any{"manager": map[string]any{"value": "m1"}},
		schemas.CustomerUserURN:   map[string]any{"passwordSetup": "invite"},
	}
	userCopy := deepCopy(user)
	f.Fuzz(func(t *testing.T, op, path, value string) {
		var v any
		if json.Unmarshal([]byte(value), &v) != nil {
			return
		}
		ops := []PatchOp{{Op: op, Path: path, Value: v, HasValue: true}}
		out, err := ApplyPatch(t.Context(), schemas.Users(), user, ops)
		if !reflect.DeepEqual(user, userCopy) {
			t.Fatalf("ApplyPatch modified its input: %v", user)
		}
		if err == nil {
			checkPatched(t, schemas.Users(), out)
		} else if ErrorCode(err) == 0 {
			t.Fatalf("ApplyPatch error %v is not a resources.Error", err)
		}
		memberOps, rest, err := SplitMemberOps(schemas.Groups(), ops)
		if err != nil {
			return
		}
		if out, err := ApplyPatch(t.Context(), schemas.Groups(), map[string]any{"displayName": "G"}, rest); err == nil {
			checkPatched(t, schemas.Groups(), out)
		}
		for _, op := range memberOps {
			if _, err := MemberChange(schemas.Groups(), op, func() ([]string, error) { return []string{"u1"}, nil }); err != nil && ErrorCode(err) == 0 {
				t.Fatalf("MemberChange error %v is not a resources.Error", err)
			}
		}
	})
}

// FuzzHasMember: on any JSON object, hasMember agrees with encoding/json
// about which top-level members exist.
func FuzzHasMember(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,{"c":"}"}]},"d":"\"e"}`, ` { "a\u0062" : [ ] , "c" : null } `, `{}`} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, doc, name string) {
		if !utf8.ValidString(doc) {
			return // encoding/json writes only valid UTF-8, and decoding replaces the rest
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(doc), &m) != nil || m == nil {
			return
		}
		keys := []string{name}
		for k := range m {
			keys = append(keys, k)
		}
		for _, k := range keys {
			_, want := m[k]
			if got := hasMember([]byte(doc), k); got != want {
				t.Errorf("hasMember(%s, %q) = %v, want %v", doc, k, got, want)
			}
		}
	})
}

// FuzzAppendDocument: the hand-written encoder says what Document says, for
// any id, display name and version.
func FuzzAppendDocument(f *testing.F) {
	f.Add("u1", "Sales & \"Ops\" é", "<Group>", int64(3))
	f.Add("\x00\u2028", "\\", "\xff", int64(-1))
	f.Fuzz(func(t *testing.T, id, display, name string, version int64) {
		at := time.Unix(1700000000, 123).UTC()
		r := Resource{ID: id, Attributes: map[string]any{"displayName": name}, Version: version, Created: at, Modified: at,
			Members: []Ref{{ID: id, Display: display}}}
		fast, err := AppendDocument(nil, schemas.Groups(), r, "https://x/scim/v2")
		if err != nil {
			t.Fatalf("AppendDocument: %v", err)
		}
		var got, want any
		if err := json.Unmarshal(fast, &got); err != nil {
			t.Fatalf("AppendDocument wrote invalid JSON %q: %v", fast, err)
		}
		slow, _ := json.Marshal(Document(schemas.Groups(), r, "https://x/scim/v2"))
		_ = json.Unmarshal(slow, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AppendDocument = %s\nDocument = %s", fast, slow)
		}
	})
}

// FuzzNormalize: any JSON object as a POST/PUT body of a user or a group
// gives a resources.Error or a body, the same one every time (no attribute
// resolved in map order), with no string holding NUL and no members in a
// group's document.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","username":"d@e.f"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"urn:ietf:params:scim:schemas:core:2.0:User":{"userName":"a@b.c","password":"x"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A","manager":{"value":"m","displayName":"B"}},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"B"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","emails":{"value":"a@b.c"},"name":{"givenName":"x\u0000"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":" G ","members":[{"value":"u1","$ref":null,"display":"U"},"u2"]}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"urn:ietf:params:scim:schemas:core:2.0:Group":{"displayName":"G","members":[{"value":"g","type":"Group"}]},"Members":"u1"}`,
	} {
		f.Add(s)
	}
	groups := &Groups{rt: schemas.Groups()}
	f.Fuzz(func(t *testing.T, s string) {
		var raw map[string]any
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		type result struct {
			attrs   map[string]any
			members []string
			err     error
		}
		runs := func(fn func() result) {
			first := fn()
			if first.err != nil && ErrorCode(first.err) == 0 {
				t.Fatalf("normalize(%s) error %v is not a resources.Error", s, first.err)
			}
			for range 3 {
				if again := fn(); !reflect.DeepEqual(again, first) {
					t.Fatalf("normalize(%s) is not deterministic: %v, then %v", s, first, again)
				}
			}
			if first.err == nil {
				if b, _ := json.Marshal(first.attrs); bytes.Contains(b, []byte(`\u0000`)) {
					t.Fatalf("normalize(%s) kept a NUL: %s", s, b)
				}
				if _, ok := first.attrs["members"]; ok {
					t.Fatalf("normalize(%s) left members in the document", s)
				}
			}
		}
		runs(func() result {
			b, err := normalize(schemas.Users(), raw)
			return result{attrs: b.attrs, err: err}
		})
		runs(func() result {
			attrs, members, err := groups.normalize(raw)
			return result{attrs: attrs, members: members, err: err}
		})
	})
}

// FuzzContainsString: containsString is strings.Contains on bytes.
func FuzzContainsString(f *testing.F) {
	f.Add("urn:a urn:b", "urn:b")
	f.Add("aaab", "aab")
	f.Add("ab", "abc")
	f.Fuzz(func(t *testing.T, b, s string) {
		if s == "" {
			return // hasMember does not ask
		}
		if got, want := containsString([]byte(b), s), strings.Contains(b, s); got != want {
			t.Errorf("containsString(%q, %q) = %v, want %v", b, s, got, want)
		}
	})
}
