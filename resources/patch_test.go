package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// patchOps decodes a JSON array of operations through ParsePatch.
func patchOps(tb testing.TB, operations string) []PatchOp {
	tb.Helper()
	body := `{"schemas":["` + schemas.PatchOpURN + `"],"Operations":` + operations + `}`
	ops, err := ParsePatch([]byte(body))
	if err != nil {
		tb.Fatalf("ParsePatch(%s): %v", body, err)
	}
	return ops
}

// jsonDoc decodes a JSON object, failing the test on error.
func jsonDoc(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestParsePatch(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []PatchOp
	}{
		{
			name: "RFC 7644 example",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"https://example.com/v2/Users/2819c223","value":"2819c223"}]}]}`,
			want: []PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223", "value": "2819c223"}}, HasValue: true}},
		},
		{
			name: "Entra ID capitalization",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"title","value":"Boss"},{"op":"Remove","path":"manager"}]}`,
			want: []PatchOp{
				{Op: "replace", Path: "active", Value: "False", HasValue: true},
				{Op: "add", Path: "title", Value: "Boss", HasValue: true},
				{Op: "remove", Path: "manager"},
			},
		},
		{
			name: "member names and URN in any case",
			body: `{"SCHEMAS":["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],"operations":[{"OP":"REMOVE","PATH":"title","VALUE":null}]}`,
			want: []PatchOp{{Op: "remove", Path: "title", HasValue: true}},
		},
		{
			name: "Okta no-path replace",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: []PatchOp{{Op: "replace", Value: map[string]any{"active": false}, HasValue: true}},
		},
		{
			name: "null path and null value",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":null,"value":null}]}`,
			want: []PatchOp{{Op: "replace", HasValue: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePatch = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestParsePatchOperationLimit: a request of exactly MaxPatchOperations
// operations is accepted.
func TestParsePatchOperationLimit(t *testing.T) {
	ops := patchOps(t, `[{"op":"remove","path":"title"}`+strings.Repeat(`,{"op":"remove","path":"title"}`, MaxPatchOperations-1)+`]`)
	if len(ops) != MaxPatchOperations {
		t.Errorf("ParsePatch of %d operations: got %d", MaxPatchOperations, len(ops))
	}
}

func TestParsePatchErrors(t *testing.T) {
	const urn = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
	tests := []struct {
		name   string
		body   string
		code   Code
		detail string
	}{
		{"bad JSON", `{"schemas":`, InvalidSyntax, "not valid JSON"},
		{"trailing data", `{` + urn + `,"Operations":[{"op":"remove","path":"title"}]} {}`, InvalidSyntax, "after the top-level object"},
		{"not an object", `[]`, InvalidSyntax, "must be a JSON object"},
		{"no schemas", `{"Operations":[{"op":"remove","path":"title"}]}`, InvalidSyntax, `"schemas" must contain "urn:ietf:params:scim:api:messages:2.0:PatchOp"`},
		{"wrong schema", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`, InvalidSyntax, `"schemas" must contain`},
		{"schemas not an array", `{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[{"op":"remove","path":"title"}]}`, InvalidSyntax, `"schemas" must contain`},
		{"no operations", `{` + urn + `}`, InvalidSyntax, `"Operations" must be a non-empty array`},
		{"empty operations", `{` + urn + `,"Operations":[]}`, InvalidSyntax, `"Operations" must be a non-empty array`},
		{"operations not an array", `{` + urn + `,"Operations":{"op":"add"}}`, InvalidSyntax, `"Operations" must be a non-empty array`},
		{"operation not an object", `{` + urn + `,"Operations":["add"]}`, InvalidSyntax, `Operations[0]: expected an object`},
		{"missing op", `{` + urn + `,"Operations":[{"path":"title","value":"x"}]}`, InvalidSyntax, `Operations[0]: "op" must be "add", "replace" or "remove", got null`},
		{"unknown op", `{` + urn + `,"Operations":[{"op":"remove","path":"title"},{"op":"move","path":"title"}]}`, InvalidSyntax, `Operations[1]: "op" must be "add", "replace" or "remove", got "move"`},
		{"path not a string", `{` + urn + `,"Operations":[{"op":"remove","path":3}]}`, InvalidPath, `Operations[0]: "path" must be a string, got 3`},
		{"add without value", `{` + urn + `,"Operations":[{"op":"add","path":"title"}]}`, InvalidValue, `Operations[0]: "add" needs a "value"`},
		{"replace without value", `{` + urn + `,"Operations":[{"op":"Replace","path":"title"}]}`, InvalidValue, `"replace" needs a "value"`},
		{"ambiguous member names", `{` + urn + `,"Operations":[{"op":"remove","Op":"add","path":"title"}]}`, InvalidSyntax, `both "Op" and "op" given`},
		{"ambiguous operations", `{` + urn + `,"Operations":[{"op":"remove","path":"title"}],"operations":[]}`, InvalidSyntax, `both "Operations" and "operations" given`},
		// Counted before any operation is looked at: the first is malformed.
		{"too many operations", `{` + urn + `,"Operations":[{"op":"move"}` + strings.Repeat(`,{"op":"remove","path":"title"}`, MaxPatchOperations) + `]}`, TooLarge, `a PATCH request may carry at most 1000 operations; this one has 1001`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePatch([]byte(tt.body))
			checkErr(t, err, tt.code, tt.detail)
		})
	}
}

const ent = schemas.EnterpriseUserURN

// baseUser is the stored user most PATCH tests start from.
const baseUser = `{
	"userName": "bjensen@example.com",
	"name": {"givenName": "Barbara", "familyName": "Jensen"},
	"active": true,
	"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops", "manager": {"value": "m1"}},
	"urn:scim:schemas:extension:customer:2.0:User": {"passwordSetup": "invite", "accountState": "pendingInvitation"}
}`

func TestApplyPatch(t *testing.T) {
	tests := []struct {
		name string
		ops  string
		// edit turns the base document into the expected result.
		edit func(d map[string]any)
	}{
		{
			name: "Entra ID disables with a string boolean",
			ops:  `[{"op":"Replace","path":"active","value":"False"}]`,
			edit: func(d map[string]any) { d["active"] = false },
		},
		{
			name: "Okta deactivates without a path",
			ops:  `[{"op":"replace","value":{"active":false}}]`,
			edit: func(d map[string]any) { d["active"] = false },
		},
		{
			name: "Entra ID no-path add with path keys",
			ops:  `[{"op":"Add","value":{"name.givenName":"A","emails[type eq \"work\"].value":"a@b.c","displayName":"Ann"}}]`,
			edit: func(d map[string]any) {
				d["name"].(map[string]any)["givenName"] = "A"
				d["emails"] = []any{map[string]any{"value": "a@b.c", "type": "work", "primary": true}}
				d["displayName"] = "Ann"
			},
		},
		{
			name: "replace a value path's sub-attribute",
			ops:  `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@example.com"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "new@example.com", "type": "work", "primary": true}}
			},
		},
		{
			name: "value path that matches nothing creates the value",
			ops:  `[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555"}]`,
			edit: func(d map[string]any) {
				d["phoneNumbers"] = []any{map[string]any{"value": "+1 555", "type": "mobile"}}
			},
		},
		{
			name: "replace creates too, with every equality of the filter",
			ops:  `[{"op":"Replace","path":"addresses[type eq \"work\" and primary eq true].streetAddress","value":"1 Main St"}]`,
			edit: func(d map[string]any) {
				d["addresses"] = []any{map[string]any{"streetAddress": "1 Main St", "type": "work", "primary": true}}
			},
		},
		{
			name: "value path in any case",
			ops:  `[{"op":"replace","path":"EMAILS[TYPE eq \"WORK\"].VALUE","value":"x@y.z"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "x@y.z", "type": "work", "primary": true}}
			},
		},
		{
			name: "sub-attribute path in any case",
			ops:  `[{"op":"Replace","path":"name.FamilyName","value":"Doe"}]`,
			edit: func(d map[string]any) { d["name"].(map[string]any)["familyName"] = "Doe" },
		},
		{
			name: "enterprise attribute by full URN path",
			ops:  `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["department"] = "Sales" },
		},
		{
			name: "enterprise URN in any case",
			ops:  `[{"op":"Add","path":"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:CostCenter","value":"4130"}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["costCenter"] = "4130" },
		},
		{
			name: "manager as a bare id",
			ops:  `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["manager"] = map[string]any{"value": "m2"} },
		},
		{
			name: "manager.value",
			ops:  `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m3"}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["manager"] = map[string]any{"value": "m3"} },
		},
		{
			name: "Entra ID removes the manager without a value",
			ops:  `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			edit: func(d map[string]any) { delete(d[ent].(map[string]any), "manager") },
		},
		{
			name: "an extension left empty is deleted",
			ops:  `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]`,
			edit: func(d map[string]any) { delete(d, ent) },
		},
		{
			name: "remove an extension by its URN",
			ops:  `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`,
			edit: func(d map[string]any) { delete(d, ent) },
		},
		{
			name: "replace an extension by its URN",
			ops:  `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"Department":"R&D","manager":{"value":"m9"}}}]`,
			edit: func(d map[string]any) {
				d[ent] = map[string]any{"department": "R&D", "manager": map[string]any{"value": "m9"}}
			},
		},
		{
			name: "no-path value with an extension object",
			ops:  `[{"op":"replace","value":{"schemas":["x"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"division":"EMEA"}}}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["division"] = "EMEA" },
		},
		{
			name: "no-path value with a URN-prefixed key",
			ops:  `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division":"EMEA","urn:ietf:params:scim:schemas:core:2.0:User:nickName":"Babs"}}]`,
			edit: func(d map[string]any) {
				d[ent].(map[string]any)["division"] = "EMEA"
				d["nickName"] = "Babs"
			},
		},
		{
			name: "no-path replace of a complex attribute merges",
			ops:  `[{"op":"replace","value":{"name":{"FamilyName":"Doe"}}}]`,
			edit: func(d map[string]any) { d["name"].(map[string]any)["familyName"] = "Doe" },
		},
		{
			name: "path replace of a complex attribute merges",
			ops:  `[{"op":"replace","path":"name","value":{"middleName":"Q"}}]`,
			edit: func(d map[string]any) { d["name"].(map[string]any)["middleName"] = "Q" },
		},
		{
			name: "add to a multi-valued attribute appends and skips duplicates",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"b@home.org","type":"home"}]}]`,
			edit: func(d map[string]any) {
				d["emails"] = append(d["emails"].([]any), map[string]any{"value": "b@home.org", "type": "home"})
			},
		},
		{
			name: "a single value is wrapped",
			ops:  `[{"op":"add","path":"emails","value":{"value":"b@home.org","type":"home"}}]`,
			edit: func(d map[string]any) {
				d["emails"] = append(d["emails"].([]any), map[string]any{"value": "b@home.org", "type": "home"})
			},
		},
		{
			name: "a new primary value takes primary from the others",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.org","type":"home","primary":"True"}]}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{
					map[string]any{"value": "bjensen@example.com", "type": "work"},
					map[string]any{"value": "b@home.org", "type": "home", "primary": true},
				}
			},
		},
		{
			name: "primary set through a value path",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.org","type":"home"}]},{"op":"replace","path":"emails[type eq \"home\"].primary","value":"true"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{
					map[string]any{"value": "bjensen@example.com", "type": "work"},
					map[string]any{"value": "b@home.org", "type": "home", "primary": true},
				}
			},
		},
		{
			name: "replace a multi-valued attribute whole",
			ops:  `[{"op":"replace","path":"emails","value":[{"value":"a@x.org","type":"other"},{"value":"b@x.org","primary":true}]}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "a@x.org", "type": "other"}, map[string]any{"value": "b@x.org", "primary": true}}
			},
		},
		{
			name: "replace the values a filter selects",
			ops:  `[{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"w@x.org","type":"work"}}]`,
			edit: func(d map[string]any) { d["emails"] = []any{map[string]any{"value": "w@x.org", "type": "work"}} },
		},
		{
			name: "add to the values a filter selects merges",
			ops:  `[{"op":"add","path":"emails[type eq \"work\"]","value":{"display":"Work"}}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true, "display": "Work"}}
			},
		},
		{
			name: "add with a filter that matches nothing creates a value",
			ops:  `[{"op":"add","path":"ims[type eq \"xmpp\"]","value":{"value":"babs@jabber.org"}}]`,
			edit: func(d map[string]any) { d["ims"] = []any{map[string]any{"value": "babs@jabber.org", "type": "xmpp"}} },
		},
		{
			name: "sub-attribute of a multi-valued attribute without filter sets every value",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.org"}]},{"op":"replace","path":"emails.type","value":"other"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{
					map[string]any{"value": "bjensen@example.com", "type": "other", "primary": true},
					map[string]any{"value": "b@home.org", "type": "other"},
				}
			},
		},
		{
			name: "remove the values a filter selects",
			ops:  `[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
			edit: func(d map[string]any) { delete(d, "emails") },
		},
		{
			name: "remove a sub-attribute of the values a filter selects",
			ops:  `[{"op":"remove","path":"emails[type eq \"work\"].primary"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "bjensen@example.com", "type": "work"}}
			},
		},
		{
			name: "remove a sub-attribute of every value",
			ops:  `[{"op":"remove","path":"emails.type"}]`,
			edit: func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "bjensen@example.com", "primary": true}}
			},
		},
		{
			name: "remove sub-attributes until the complex attribute is gone",
			ops:  `[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"NAME.familyname"}]`,
			edit: func(d map[string]any) { delete(d, "name") },
		},
		{
			name: "Entra ID legacy remove with a value list",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.org","type":"home"}]},{"op":"Remove","path":"emails","value":[{"value":"BJENSEN@example.com"}]}]`,
			edit: func(d map[string]any) { d["emails"] = []any{map[string]any{"value": "b@home.org", "type": "home"}} },
		},
		{
			name: "remove of something absent is not an error",
			ops:  `[{"op":"remove","path":"nickName"},{"op":"remove","path":"phoneNumbers[type eq \"fax\"]"},{"op":"remove","path":"emails","value":[{"value":"nobody@x.org"}]}]`,
			edit: func(map[string]any) {},
		},
		{
			name: "Entra ID resends userName in another case",
			ops:  `[{"op":"Replace","path":"userName","value":"BJensen@Example.com"},{"op":"Add","value":{"userName":"bjensen@example.com"}}]`,
			edit: func(map[string]any) {},
		},
		{
			name: "immutable passwordSetup resent unchanged",
			ops:  `[{"op":"replace","path":"urn:scim:schemas:extension:customer:2.0:User:passwordSetup","value":"invite"}]`,
			edit: func(map[string]any) {},
		},
		{
			name: "writeOnly password lands in the result",
			ops:  `[{"op":"replace","path":"password","value":"t1meMa$heen"}]`,
			edit: func(d map[string]any) { d["password"] = "t1meMa$heen" },
		},
		{
			name: "null value removes",
			ops:  `[{"op":"replace","path":"name.givenName","value":null},{"op":"add","value":{"active":null}}]`,
			edit: func(d map[string]any) {
				delete(d["name"].(map[string]any), "givenName")
				delete(d, "active")
			},
		},
		{
			name: "Entra ID empty roles",
			ops:  `[{"op":"Add","path":"roles","value":[]}]`,
			edit: func(map[string]any) {},
		},
		{
			name: "Entra ID roles with string booleans",
			ops:  `[{"op":"Add","path":"roles","value":[{"primary":"False","type":"WindowsAzureActiveDirectoryRole","value":"r1"}]}]`,
			edit: func(d map[string]any) {
				d["roles"] = []any{map[string]any{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "value": "r1"}}
			},
		},
		{
			name: "readOnly sub-attributes null in values are no value",
			ops:  `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m2","displayName":null}}]`,
			edit: func(d map[string]any) { d[ent].(map[string]any)["manager"] = map[string]any{"value": "m2"} },
		},
		{
			name: "core URN prefix",
			ops:  `[{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"Babs"}]`,
			edit: func(d map[string]any) { d["displayName"] = "Babs" },
		},
		{
			name: "operations apply in order",
			ops:  `[{"op":"add","path":"title","value":"A"},{"op":"replace","path":"title","value":"B"},{"op":"remove","path":"title"},{"op":"add","path":"title","value":"C"}]`,
			edit: func(d map[string]any) { d["title"] = "C" },
		},
	}
	rt := schemas.Users()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := jsonDoc(t, baseUser)
			want := jsonDoc(t, baseUser)
			tt.edit(want)
			got, err := ApplyPatch(t.Context(), rt, doc, patchOps(t, tt.ops))
			if err != nil {
				t.Fatalf("ApplyPatch(%s): %v", tt.ops, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ApplyPatch(%s)\n got %s\nwant %s", tt.ops, jsonString(got), jsonString(want))
			}
			if orig := jsonDoc(t, baseUser); !reflect.DeepEqual(doc, orig) {
				t.Errorf("ApplyPatch modified its input: %s", jsonString(doc))
			}
		})
	}
}

func TestApplyPatchErrors(t *testing.T) {
	tests := []struct {
		name   string
		ops    string
		code   Code
		detail string
	}{
		{"readOnly groups", `[{"op":"add","path":"groups","value":[{"value":"g1"}]}]`, Mutability, `attribute "groups" is read-only`},
		{"readOnly id", `[{"op":"replace","path":"id","value":"x"}]`, Mutability, `attribute "id" is read-only`},
		{"readOnly meta", `[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]`, Mutability, `attribute "meta" is read-only`},
		{"readOnly id without path", `[{"op":"replace","value":{"id":"x"}}]`, Mutability, `attribute "id" is read-only`},
		{"readOnly remove", `[{"op":"remove","path":"groups"}]`, Mutability, `attribute "groups" is read-only`},
		{"readOnly accountState", `[{"op":"replace","path":"urn:scim:schemas:extension:customer:2.0:User:accountState","value":"active"}]`, Mutability, `attribute "urn:scim:schemas:extension:customer:2.0:User:accountState" is read-only`},
		{"readOnly accountState through the extension", `[{"op":"replace","value":{"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"active"}}}]`, Mutability, `accountState" is read-only`},
		{"readOnly manager.displayName", `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName","value":"Boss"}]`, Mutability, `manager.displayName" is read-only`},
		{"readOnly manager.displayName in a value", `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m2","displayName":"Boss"}}]`, Mutability, `manager.displayName" is read-only: leave it out of the value`},
		{"readOnly manager.displayName in a no-path value", `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m2","DisplayName":"Boss"}}}}]`, Mutability, `manager.displayName" is read-only`},
		{"immutable userName", `[{"op":"replace","path":"userName","value":"other@example.com"}]`, Mutability, `attribute "userName" is immutable: it cannot be changed once the user is created`},
		{"immutable userName without path", `[{"op":"replace","value":{"userName":"other@example.com"}}]`, Mutability, `attribute "userName" is immutable`},
		{"remove userName", `[{"op":"remove","path":"userName"}]`, Mutability, `attribute "userName" is immutable`},
		{"null userName", `[{"op":"replace","path":"userName","value":null}]`, Mutability, `attribute "userName" is immutable`},
		{"immutable passwordSetup", `[{"op":"replace","path":"urn:scim:schemas:extension:customer:2.0:User:passwordSetup","value":"temporaryPassword"}]`, Mutability, `passwordSetup" is immutable`},
		{"remove the customer extension", `[{"op":"remove","path":"urn:scim:schemas:extension:customer:2.0:User"}]`, Mutability, `passwordSetup" is immutable`},
		{"unknown attribute", `[{"op":"add","path":"foo","value":"x"}]`, InvalidPath, `path "foo": unknown attribute "foo"`},
		{"unknown attribute without path", `[{"op":"add","value":{"foo":"x"}}]`, InvalidPath, `unknown attribute "foo"`},
		{"unknown sub-attribute", `[{"op":"add","path":"name.foo","value":"x"}]`, InvalidPath, `path "name.foo": no sub-attribute "foo" in name`},
		{"unknown extension attribute", `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dept","value":"x"}]`, InvalidPath, `unknown attribute "dept" in schema`},
		{"unknown sub-attribute after a filter", `[{"op":"add","path":"emails[type eq \"work\"].valu","value":"x"}]`, InvalidPath, `path "emails[type eq \"work\"].valu": no sub-attribute "valu" in emails`},
		{"unknown sub-attribute in a filter", `[{"op":"remove","path":"emails[typ eq \"work\"]"}]`, InvalidPath, `no sub-attribute "typ" in emails`},
		{"unparseable filter", `[{"op":"remove","path":"emails[type eq]"}]`, InvalidPath, `invalid syntax in value filter`},
		{"unclosed filter", `[{"op":"remove","path":"emails[type eq \"work\""}]`, InvalidPath, `unclosed "["`},
		{"unmatched parenthesis", `[{"op":"remove","path":"emails[type eq \"work\")]"}]`, InvalidPath, `unmatched ")"`},
		{"garbage after filter", `[{"op":"remove","path":"emails[type eq \"work\"]x"}]`, InvalidPath, `unexpected "x" after the value filter`},
		{"filter on a single-valued attribute", `[{"op":"remove","path":"name[givenName eq \"x\"]"}]`, InvalidPath, `"name" is not multi-valued`},
		{"filter on a simple attribute", `[{"op":"remove","path":"userName[value eq \"x\"]"}]`, InvalidPath, `neither multi-valued nor complex`},
		{"path too long", `[{"op":"remove","path":"emails[` + strings.Repeat(`value eq \"x\" or `, 1100) + `value pr]"}]`, InvalidPath, `path too long`},
		{"empty path key", `[{"op":"add","value":{"":"x"}}]`, InvalidPath, `empty path`},
		{"string boolean", `[{"op":"replace","path":"active","value":"maybe"}]`, InvalidValue, `attribute "active": expected a boolean, got "maybe"`},
		{"string expected", `[{"op":"replace","path":"title","value":7}]`, InvalidValue, `attribute "title": expected a string, got 7`},
		{"object expected", `[{"op":"replace","path":"name","value":"x"}]`, InvalidValue, `attribute "name": expected an object, got "x"`},
		{"unknown sub-attribute in a value", `[{"op":"add","path":"emails","value":[{"valeu":"x"}]}]`, InvalidValue, `attribute "emails": unknown sub-attribute "valeu"`},
		{"sub-attribute twice", `[{"op":"add","path":"emails","value":[{"value":"x","Value":"y"}]}]`, InvalidValue, `sub-attribute "value" given twice`},
		{"bad sub-attribute value", `[{"op":"add","path":"emails","value":[{"value":"x","primary":"yes"}]}]`, InvalidValue, `attribute "emails.primary": expected a boolean, got "yes"`},
		{"array of arrays", `[{"op":"add","path":"emails","value":[["x"]]}]`, InvalidValue, `array of arrays`},
		{"password not echoed", `[{"op":"replace","path":"password","value":12345}]`, InvalidValue, `attribute "password": expected a string, got a number`},
		{"no-path value not an object", `[{"op":"add","value":"x"}]`, InvalidValue, `"value" must be an object of attributes`},
		{"extension value not an object", `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":"x"}]`, InvalidValue, `expected an object of its attributes`},
		{"remove without path", `[{"op":"remove"}]`, NoTarget, `remove needs a "path"`},
		{"replace a filter that matches nothing", `[{"op":"replace","path":"emails[type eq \"other\"]","value":{"value":"x"}}]`, NoTarget, `no value of emails matches the filter`},
		{"create from a filter that is not equalities", `[{"op":"add","path":"emails[type sw \"x\"].value","value":"x"}]`, NoTarget, `only be created from a filter of "eq" comparisons`},
		{"create from an or filter", `[{"op":"replace","path":"phoneNumbers[type eq \"a\" or type eq \"b\"].value","value":"1"}]`, NoTarget, `no value of phoneNumbers matches`},
		{"two primary values at once", `[{"op":"add","path":"emails","value":[{"value":"a@x.org","primary":true},{"value":"b@x.org","primary":"True"}]}]`, InvalidValue, `attribute "emails": at most one value may be primary, got 2`},
		{"two primary values by replace", `[{"op":"replace","path":"emails","value":[{"value":"a@x.org","primary":true},{"value":"b@x.org","primary":true}]}]`, InvalidValue, `at most one value may be primary`},
		{"primary on every value", `[{"op":"add","path":"emails","value":{"value":"b@x.org"}},{"op":"replace","path":"emails.primary","value":true}]`, InvalidValue, `at most one value may be primary`},
		{"all or nothing", `[{"op":"replace","path":"title","value":"ok"},{"op":"replace","path":"groups","value":[]}]`, Mutability, `"groups" is read-only`},
	}
	rt := schemas.Users()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := jsonDoc(t, baseUser)
			got, err := ApplyPatch(t.Context(), rt, doc, patchOps(t, tt.ops))
			checkErr(t, err, tt.code, tt.detail)
			if got != nil {
				t.Errorf("ApplyPatch returned a document with its error: %s", jsonString(got))
			}
			if orig := jsonDoc(t, baseUser); !reflect.DeepEqual(doc, orig) {
				t.Errorf("ApplyPatch modified its input: %s", jsonString(doc))
			}
		})
	}
}

// TestApplyPatchValueLimit: the operation that gives a multi-valued
// attribute more than MaxValues values fails at once, naming itself, not
// after the operations that follow it.
func TestApplyPatchValueLimit(t *testing.T) {
	rt := schemas.Users()
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	phone := func(i int) any { return map[string]any{"value": fmt.Sprintf("+1 555 %07d", i)} }
	email := func(i int) PatchOp {
		return PatchOp{Op: "add", Path: fmt.Sprintf(`emails[type eq "w%d"].value`, i), Value: fmt.Sprintf("u%d@example.com", i), HasValue: true}
	}
	addPhone := func(i int) PatchOp {
		return PatchOp{Op: "add", Path: "phoneNumbers", Value: []any{phone(i)}, HasValue: true}
	}
	tests := []struct {
		name   string
		ops    []PatchOp
		detail string // empty: no error
	}{
		// baseUser has one email: the 100th new one is its 101st.
		{"filtered adds", opsOf(5000, email), `attribute "emails" would have more than the 100 values a customer may have (operation 100 of 5000)`},
		{"filtered adds up to the limit", opsOf(99, email), ""},
		{"adds", opsOf(5000, addPhone), `attribute "phoneNumbers" would have more than the 100 values a customer may have (operation 101 of 5000)`},
		{"adds of values already there", opsOf(300, func(i int) PatchOp { return addPhone(i % 100) }), ""},
		{"one add of many values", []PatchOp{{Op: "add", Path: "phoneNumbers", Value: many(101, phone), HasValue: true}}, `attribute "phoneNumbers" would have more than the 100 values`},
		{"replace with many values", []PatchOp{{Op: "replace", Path: "phoneNumbers", Value: many(101, phone), HasValue: true}}, `(operation 1 of 1)`},
		{"replace with as many as allowed", []PatchOp{{Op: "replace", Path: "phoneNumbers", Value: many(100, phone), HasValue: true}}, ""},
		{"no-path add", []PatchOp{{Op: "add", Value: map[string]any{"phoneNumbers": many(101, phone)}, HasValue: true}}, `attribute "phoneNumbers" would have more than the 100 values`},
		{"over, then back under", []PatchOp{
			{Op: "add", Path: "phoneNumbers", Value: many(100, phone), HasValue: true},
			addPhone(100),
			{Op: "remove", Path: "phoneNumbers"},
		}, `(operation 2 of 3)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := jsonDoc(t, baseUser)
			got, err := ApplyPatch(t.Context(), rt, doc, tt.ops)
			if tt.detail == "" {
				if err != nil {
					t.Fatalf("ApplyPatch: %v", err)
				}
				for k, v := range got {
					if l, ok := v.([]any); ok && len(l) > MaxValues {
						t.Errorf("ApplyPatch: %q has %d values, more than %d", k, len(l), MaxValues)
					}
				}
				return
			}
			if got != nil {
				t.Errorf("ApplyPatch returned a document with its error")
			}
			checkErr(t, err, InvalidValue, tt.detail)
		})
	}
}

// cancelAfter is a context whose Err reports context.Canceled once it has
// answered nil n times: a client that leaves while its PATCH is applied.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestApplyPatchCancelled: ApplyPatch stops when its context is done, before
// the first operation or within cancelCheckEvery of them, and returns the
// context's error; the document is unchanged.
func TestApplyPatchCancelled(t *testing.T) {
	rt := schemas.Users()
	ops := opsOf(1000, func(i int) PatchOp {
		return PatchOp{Op: "replace", Path: "title", Value: fmt.Sprintf("T%d", i), HasValue: true}
	})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		detail string
	}{
		{"before the first operation", cancelled, "context canceled"},
		{"while applying", &cancelAfter{Context: t.Context(), n: 2}, fmt.Sprintf("PATCH stopped after %d of 1000 operations", 2*cancelCheckEvery)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := jsonDoc(t, baseUser)
			want := jsonString(doc)
			got, err := ApplyPatch(tt.ctx, rt, doc, ops)
			if !errors.Is(err, context.Canceled) || !strings.Contains(fmt.Sprint(err), tt.detail) || got != nil {
				t.Errorf("ApplyPatch = %v, %v; want no document and an error wrapping context.Canceled containing %q", got, err, tt.detail)
			}
			if now := jsonString(doc); now != want {
				t.Errorf("ApplyPatch changed its document:\n got %s\nwant %s", now, want)
			}
		})
	}
}

// opsOf returns n operations made by f from their index.
func opsOf(n int, f func(i int) PatchOp) []PatchOp {
	out := make([]PatchOp, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestApplyPatchGroup(t *testing.T) {
	rt := schemas.Groups()
	doc := map[string]any{"displayName": "Sales"}
	got, err := ApplyPatch(t.Context(), rt, doc, patchOps(t, `[{"op":"Replace","path":"displayName","value":"Sales EMEA"},{"op":"add","path":"externalId","value":"e1"}]`))
	if err != nil {
		t.Fatalf("ApplyPatch: %v", err)
	}
	if want := map[string]any{"displayName": "Sales EMEA", "externalId": "e1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ApplyPatch = %v, want %v", got, want)
	}
	_, err = ApplyPatch(t.Context(), rt, doc, patchOps(t, `[{"op":"remove","path":"displayName"}]`))
	checkErr(t, err, Mutability, `attribute "displayName" is required and cannot be removed`)
	_, err = ApplyPatch(t.Context(), rt, doc, patchOps(t, `[{"op":"replace","path":"displayName","value":null}]`))
	checkErr(t, err, Mutability, `attribute "displayName" is required`)

	// A stored readOnly attribute (set by the server) survives.
	user := jsonDoc(t, baseUser)
	got, err = ApplyPatch(t.Context(), schemas.Users(), user, patchOps(t, `[{"op":"replace","value":{"urn:scim:schemas:extension:customer:2.0:User":{"passwordSetup":"invite"}}}]`))
	if err != nil {
		t.Fatalf("ApplyPatch: %v", err)
	}
	if !reflect.DeepEqual(got, user) {
		t.Errorf("ApplyPatch = %s, want %s", jsonString(got), jsonString(user))
	}
}

func TestCoerceValue(t *testing.T) {
	rt := schemas.Users()
	lookup := func(tb testing.TB, path string) schemas.Attribute {
		tb.Helper()
		a, ok := rt.Lookup(path)
		if !ok {
			tb.Fatalf("Lookup(%q) failed", path)
		}
		return a
	}
	tests := []struct {
		path string
		in   string
		want string
		code Code // of err; InvalidValue when 0
		err  string
	}{
		{path: "active", in: `"TRUE"`, want: `true`},
		{path: "active", in: `false`, want: `false`},
		{path: "active", in: `1`, err: `attribute "active": expected a boolean, got 1`},
		{path: "userName", in: `"a@b.c"`, want: `"a@b.c"`},
		{path: "userName", in: `null`, want: `null`},
		{path: "name", in: `{"GivenName":"A","familyname":null}`, want: `{"givenName":"A"}`},
		{path: "name.givenName", in: `"A"`, want: `"A"`},
		{path: "emails", in: `{"Value":"a@b.c","Primary":"True"}`, want: `[{"primary":true,"value":"a@b.c"}]`},
		{path: "emails", in: `[{"value":"a@b.c"},null]`, want: `[{"value":"a@b.c"}]`},
		{path: "emails", in: `"a@b.c"`, want: `[{"value":"a@b.c"}]`},
		{path: "emails", in: `[]`, want: `[]`},
		{path: "emails.primary", in: `"false"`, want: `false`},
		{path: "emails", in: `[{"value":3}]`, err: `attribute "emails.value": expected a string, got 3`},
		{path: "groups", in: `[{"value":"g","display":"x"}]`, code: Mutability, err: `attribute "groups.display" is read-only: leave it out of the value`},
		{path: ent + ":manager", in: `{"value":"m1","displayName":"Boss"}`, code: Mutability, err: `attribute "` + ent + `:manager.displayName" is read-only`},
		{path: ent + ":manager", in: `{"value":"m1","displayName":null}`, want: `{"value":"m1"}`},
		{path: ent + ":manager", in: `"m1"`, want: `{"value":"m1"}`},
		{path: ent + ":manager", in: `true`, err: `attribute "` + ent + `:manager.value": expected a string, got true`},
		{path: ent + ":manager", in: `{"value":"m1","$ref":"../Users/m1"}`, want: `{"$ref":"../Users/m1","value":"m1"}`},
		{path: "meta.created", in: `"2024-01-02T03:04:05.123Z"`, want: `"2024-01-02T03:04:05.123Z"`},
		{path: "meta.created", in: `"yesterday"`, err: `attribute "meta.created": expected an RFC 3339 date and time, got "yesterday"`},
		{path: "password", in: `"s3cret"`, want: `"s3cret"`},
		{path: "password", in: `true`, err: `attribute "password": expected a string, got a boolean`},
		{path: schemas.WSO2URN + ":askPassword", in: `"True"`, want: `true`},
		{path: "x509Certificates", in: `[{"value":"TUlJ"}]`, want: `[{"value":"TUlJ"}]`},
		{path: "name", in: `["x"]`, err: `attribute "name": expected an object, got an array`},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.in, func(t *testing.T) {
			var in any
			if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
				t.Fatal(err)
			}
			got, err := CoerceValue(lookup(t, tt.path), in)
			if tt.err != "" {
				code := tt.code
				if code == 0 {
					code = InvalidValue
				}
				checkErr(t, err, code, tt.err)
				return
			}
			if err != nil {
				t.Fatalf("CoerceValue(%s, %s): %v", tt.path, tt.in, err)
			}
			if g := jsonString(got); g != tt.want {
				t.Errorf("CoerceValue(%s, %s) = %s, want %s", tt.path, tt.in, g, tt.want)
			}
		})
	}
}

func TestSplitMemberOps(t *testing.T) {
	ops := patchOps(t, `[
		{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]},
		{"op":"Replace","path":"displayName","value":"New"},
		{"op":"Remove","path":"MEMBERS[value eq \"u2\"]"},
		{"op":"replace","value":{"displayName":"Newer","Members":[{"value":"u3"}]}},
		{"op":"replace","value":{"members":[]}},
		{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members","value":["u4"]},
		{"op":"remove","path":"externalId"}
	]`)
	members, rest, err := SplitMemberOps(schemas.Groups(), ops)
	if err != nil {
		t.Fatalf("SplitMemberOps: %v", err)
	}
	wantMembers := []PatchOp{
		ops[0],
		ops[2],
		{Op: "replace", Path: "Members", Value: []any{map[string]any{"value": "u3"}}, HasValue: true},
		{Op: "replace", Path: "members", Value: []any{}, HasValue: true},
		ops[5],
	}
	wantRest := []PatchOp{
		ops[1],
		{Op: "replace", Value: map[string]any{"displayName": "Newer"}, HasValue: true},
		ops[6],
	}
	if !reflect.DeepEqual(members, wantMembers) {
		t.Errorf("member ops = %#v, want %#v", members, wantMembers)
	}
	if !reflect.DeepEqual(rest, wantRest) {
		t.Errorf("rest = %#v, want %#v", rest, wantRest)
	}
	// The split value must not have changed the caller's op.
	if _, ok := ops[3].Value.(map[string]any)["Members"]; !ok {
		t.Errorf("SplitMemberOps modified its input: %v", ops[3].Value)
	}

	// Users have no members: everything is rest.
	userOps := patchOps(t, `[{"op":"add","value":{"members":"x"}}]`)
	members, rest, err = SplitMemberOps(schemas.Users(), userOps)
	if err != nil || members != nil || !reflect.DeepEqual(rest, userOps) {
		t.Errorf("SplitMemberOps(Users) = %v, %v, %v; want nil, %v, nil", members, rest, err, userOps)
	}

	// A value filter is not parsed here (Groups.Patch parses each path
	// once, within its budget); what a path names must resolve.
	bad := patchOps(t, `[{"op":"remove","path":"members[value eq]"}]`)
	if members, _, err = SplitMemberOps(schemas.Groups(), bad); err != nil || len(members) != 1 {
		t.Errorf("SplitMemberOps(members[value eq]) = %v, %v; want it a member op", members, err)
	}
	_, err = NewGroups(&countingGroups{tb: t}).Patch(t.Context(), "acme", "g1", bad, 0)
	checkErr(t, err, InvalidPath, "invalid syntax in value filter")
	_, _, err = SplitMemberOps(schemas.Groups(), patchOps(t, `[{"op":"remove","path":"nosuch[value eq \"x\"]"}]`))
	checkErr(t, err, InvalidPath, `unknown attribute "nosuch"`)
}

func TestMemberChange(t *testing.T) {
	current := func() ([]string, error) { return []string{"u1", "u2", "admin-1"}, nil }
	tests := []struct {
		name string
		op   string
		want MemberDelta
	}{
		{"Entra ID add", `{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"},{"value":"u2","display":"B"}]}`, MemberDelta{Add: []string{"u1", "u2"}}},
		{"what a GET shows", `{"op":"add","path":"members","value":[{"value":"u1","$ref":"https://x/scim/v2/Users/u1","type":"User","display":"A"}]}`, MemberDelta{Add: []string{"u1"}}},
		{"bare ids", `{"op":"add","path":"members","value":["u1","u1","u2"]}`, MemberDelta{Add: []string{"u1", "u2"}}},
		{"single member", `{"op":"add","path":"members","value":{"Value":"u1"}}`, MemberDelta{Add: []string{"u1"}}},
		{"add nothing", `{"op":"add","path":"members","value":[]}`, MemberDelta{}},
		{"legacy remove", `{"op":"Remove","path":"members","value":[{"value":"u1"}]}`, MemberDelta{Remove: []string{"u1"}}},
		{"RFC remove", `{"op":"remove","path":"members[value eq \"u2\"]"}`, MemberDelta{Remove: []string{"u2"}}},
		{"remove with or", `{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\" or VALUE EQ \"u3\"]"}`, MemberDelta{Remove: []string{"u1", "u2", "u3"}}},
		{"remove all", `{"op":"Remove","path":"members"}`, MemberDelta{RemoveAll: true}},
		{"remove all with null", `{"op":"Remove","path":"members","value":null}`, MemberDelta{RemoveAll: true}},
		{"remove by another value filter", `{"op":"remove","path":"members[value sw \"admin\"]"}`, MemberDelta{Remove: []string{"admin-1"}}},
		{"remove by not", `{"op":"remove","path":"members[not (value eq \"u1\")]"}`, MemberDelta{Remove: []string{"u2", "admin-1"}}},
		{"replace", `{"op":"replace","path":"members","value":[{"value":"u9"}]}`, MemberDelta{RemoveAll: true, Add: []string{"u9"}}},
		{"replace with nothing", `{"op":"replace","path":"members","value":[]}`, MemberDelta{RemoveAll: true}},
		{"replace one member", `{"op":"replace","path":"members[value eq \"u1\"]","value":{"value":"u7"}}`, MemberDelta{Remove: []string{"u1"}, Add: []string{"u7"}}},
		{"replace a member by itself", `{"op":"replace","path":"members[value eq \"u1\"]","value":{"value":"u1"}}`, MemberDelta{Add: []string{"u1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := patchOps(t, "["+tt.op+"]")[0]
			got, err := MemberChange(schemas.Groups(), op, current)
			if err != nil {
				t.Fatalf("MemberChange(%s): %v", tt.op, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MemberChange(%s) = %#v, want %#v", tt.op, got, tt.want)
			}
		})
	}
}

func TestMemberChangeErrors(t *testing.T) {
	failing := func() ([]string, error) { return nil, errors.New("store down") }
	tests := []struct {
		name    string
		op      string
		current func() ([]string, error)
		code    Code
		detail  string
	}{
		{"filter on display", `{"op":"remove","path":"members[display eq \"Alice\"]"}`, nil, InvalidPath, "members: only filters on value are supported"},
		{"sub-attribute", `{"op":"remove","path":"members.value"}`, nil, InvalidPath, "not by sub-attribute"},
		{"add with a filter", `{"op":"add","path":"members[value eq \"u1\"]","value":[{"value":"u2"}]}`, nil, InvalidPath, `add members with path "members" and no filter`},
		{"not members", `{"op":"add","path":"displayName","value":"x"}`, nil, InvalidPath, `does not name members`},
		{"bad path", `{"op":"add","path":"members[","value":"x"}`, nil, InvalidPath, `unclosed "["`},
		{"empty id", `{"op":"add","path":"members","value":[{"value":""}]}`, nil, InvalidValue, `members: each member needs a non-empty "value"`},
		{"id not a string", `{"op":"add","path":"members","value":[{"value":42}]}`, nil, InvalidValue, `non-empty "value"`},
		{"member not an object", `{"op":"add","path":"members","value":[true]}`, nil, InvalidValue, `got true`},
		{"missing value", `{"op":"add","path":"members","value":[{"display":"x"}]}`, nil, InvalidValue, `non-empty "value"`},
		{"a group", `{"op":"add","path":"members","value":[{"value":"g1","Type":"Group"}]}`, nil, InvalidValue, `members must be users: member "g1" is a group`},
		{"a group's $ref", `{"op":"add","path":"members","value":[{"value":"g1","$ref":"https://x/scim/v2/Groups/g1"}]}`, nil, InvalidValue, `members must be users`},
		{"$ref of another user", `{"op":"add","path":"members","value":[{"value":"u1","$ref":"https://x/scim/v2/Users/u2"}]}`, nil, InvalidValue, `"members.$ref": "https://x/scim/v2/Users/u2" is not the location of the user "u1"`},
		{"unknown sub-attribute", `{"op":"replace","path":"members","value":[{"value":"u1","foo":1}]}`, nil, InvalidValue, `attribute "members": unknown sub-attribute "foo"`},
		{"sub-attribute twice", `{"op":"add","path":"members","value":[{"value":"u1","type":"User","TYPE":"User"}]}`, nil, InvalidValue, `sub-attribute "type" given twice`},
		{"display not a string", `{"op":"add","path":"members","value":[{"value":"u1","display":1}]}`, nil, InvalidValue, `"members.display": expected a string, got 1`},
		{"filter needs current members", `{"op":"remove","path":"members[value ne \"u1\"]"}`, nil, InvalidPath, `only "value eq" filters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := patchOps(t, "["+tt.op+"]")[0]
			_, err := MemberChange(schemas.Groups(), op, tt.current)
			checkErr(t, err, tt.code, tt.detail)
		})
	}
	op := patchOps(t, `[{"op":"remove","path":"members[value sw \"a\"]"}]`)[0]
	if _, err := MemberChange(schemas.Groups(), op, failing); err == nil || !strings.Contains(err.Error(), "store down") || ErrorCode(err) != 0 {
		t.Errorf("MemberChange with a failing store = %v, want the store's error wrapped", err)
	}
	// No current-members lookup for value eq filters: it must stay O(1).
	op = patchOps(t, `[{"op":"remove","path":"members[value eq \"u1\"]"}]`)[0]
	called := false
	if _, err := MemberChange(schemas.Groups(), op, func() ([]string, error) { called = true; return nil, nil }); err != nil || called {
		t.Errorf("MemberChange(value eq) = %v, called current = %v; want no error, no call", err, called)
	}
}

func TestApplyPatchReadOnlyTargets(t *testing.T) {
	// Every readOnly attribute, at any depth, is refused as a target.
	rt := schemas.Users()
	for _, urn := range append([]string{rt.Schema.ID}, extensionURNs(rt)...) {
		for _, a := range rt.AttributesOf(urn) {
			paths := []string{a.Name()}
			for _, s := range a.SubAttributes() {
				paths = append(paths, a.Name()+"."+s.Name())
			}
			for i, p := range paths {
				ro := a.Mutability() == "readOnly"
				if i > 0 {
					ro = ro || a.SubAttributes()[i-1].Mutability() == "readOnly"
				}
				if !ro {
					continue
				}
				full := p
				if urn != rt.Schema.ID {
					full = urn + ":" + p
				}
				_, err := ApplyPatch(t.Context(), rt, jsonDoc(t, baseUser), []PatchOp{{Op: "add", Path: full, Value: "x", HasValue: true}})
				checkErr(t, err, Mutability, "is read-only")
			}
		}
	}
}

func extensionURNs(rt schemas.ResourceType) []string {
	var out []string
	for _, e := range rt.Extensions {
		out = append(out, e.ID)
	}
	return slices.Clip(out)
}

// BenchmarkApplyPatch measures PATCH application by its number of
// operations: the time per PATCH should grow linearly with them (ops=1000
// about 10 times ops=100), whatever the shape. Shapes that add values fill
// an attribute to its MaxValues values, then keep working on it (an
// operation then costs more than one on a smaller attribute), except
// phoneNumbers-new, whose every operation adds a value: it fails at the
// 101st, so ops=1000 costs about what ops=100 costs.
func BenchmarkApplyPatch(b *testing.B) {
	rt := schemas.Users()
	b.Run("entra", func(b *testing.B) {
		doc := jsonDoc(b, baseUser)
		ops := patchOps(b, `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y.z"},{"op":"Replace","path":"active","value":"False"}]`)
		for b.Loop() {
			if _, err := ApplyPatch(b.Context(), rt, doc, ops); err != nil {
				b.Fatal(err)
			}
		}
	})
	shapes := []struct {
		name string
		op   func(i int) PatchOp
	}{
		{"title", func(i int) PatchOp {
			return PatchOp{Op: "replace", Path: "title", Value: fmt.Sprintf("T%d", i), HasValue: true}
		}},
		// baseUser has a work email: 99 more reach the limit.
		{"emails-filter", func(i int) PatchOp {
			return PatchOp{Op: "add", Path: fmt.Sprintf(`emails[type eq "w%d"].value`, i%99), Value: fmt.Sprintf("u%d@example.com", i), HasValue: true}
		}},
		{"phoneNumbers", func(i int) PatchOp {
			return PatchOp{Op: "add", Path: "phoneNumbers", Value: []any{map[string]any{"value": fmt.Sprintf("+1 555 %07d", i%100), "type": "work"}}, HasValue: true}
		}},
		{"phoneNumbers-new", func(i int) PatchOp {
			return PatchOp{Op: "add", Path: "phoneNumbers", Value: []any{map[string]any{"value": fmt.Sprintf("+1 555 %07d", i), "type": "work"}}, HasValue: true}
		}},
	}
	for _, sh := range shapes {
		for _, n := range []int{100, 1000} {
			ops := opsOf(n, sh.op)
			b.Run(fmt.Sprintf("%s/ops=%d", sh.name, n), func(b *testing.B) {
				doc := jsonDoc(b, baseUser)
				for b.Loop() {
					_, err := ApplyPatch(b.Context(), rt, doc, ops)
					if err != nil && (sh.name != "phoneNumbers-new" || n <= MaxValues) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
