package resources

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/schemas"
)

func mustParseFilter(tb testing.TB, rt schemas.ResourceType, s string) filter.Expression {
	tb.Helper()
	e, err := ParseFilter(rt, s)
	if err != nil {
		tb.Fatalf("ParseFilter(%q): %v", s, err)
	}
	return e
}

func TestParseFilterCanonical(t *testing.T) {
	const ent = schemas.EnterpriseUserURN
	tests := []struct {
		rt     schemas.ResourceType
		filter string
		want   string
	}{
		{schemas.Users(), `userName eq "bjensen"`, `userName eq "bjensen"`},
		{schemas.Users(), `USERNAME EQ "bjensen"`, `userName eq "bjensen"`},
		// Entra ID and Okta existence checks.
		{schemas.Users(), `userName eq "Alice@Contoso.com"`, `userName eq "Alice@Contoso.com"`},
		{schemas.Users(), `externalId eq "0a1b2c3d-4e5f"`, `externalId eq "0a1b2c3d-4e5f"`},
		{schemas.Groups(), `displayName eq "Sales Team"`, `displayName eq "Sales Team"`},
		{schemas.Users(), `name.FamilyName co "O'Malley"`, `name.familyName co "O'Malley"`},
		{schemas.Users(), `emails.Value ew "@example.com"`, `emails.value ew "@example.com"`},
		{schemas.Users(), `title pr`, `title pr`},
		{schemas.Users(), `title PR`, `title pr`},
		{schemas.Users(), `active eq true`, `active eq true`},
		{schemas.Users(), `active eq "True"`, `active eq true`},
		{schemas.Users(), `active ne "false"`, `active ne false`},
		{schemas.Users(), `userName eq null`, `userName eq`},
		{schemas.Users(), `meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{schemas.Users(), `id eq "2819c223" or id eq "abc"`, `id eq "2819c223" or id eq "abc"`},
		{schemas.Users(), `title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`},
		{schemas.Users(), strings.Repeat(`(`, 32) + `title pr` + strings.Repeat(`)`, 32), `title pr`},
		{schemas.Users(), `displayName eq "` + strings.Repeat(`x`, 2000) + `"`, `displayName eq "` + strings.Repeat(`x`, 2000) + `"`},
		{schemas.Users(), `title pr AND (userType eq "A" OR userType eq "B")`, `title pr and (userType eq "A" or userType eq "B")`},
		{schemas.Users(), `not (userName sw "a")`, `not(userName sw "a")`},
		{schemas.Users(), "userName eq \"a\"\tand\ntitle pr", `userName eq "a" and title pr`},
		// Escaped characters in literals (defect (a) of the parser).
		{schemas.Users(), `userName eq "a\"b"`, `userName eq "a\"b"`},
		{schemas.Users(), `userName eq "back\\slash"`, `userName eq "back\\slash"`},
		{schemas.Users(), `displayName eq "Ren\u00e9e"`, `displayName eq "Renée"`},
		{schemas.Users(), `displayName eq "a]b[c"`, `displayName eq "a]b[c"`},
		{schemas.Users(), `displayName eq "and or not ( ) pr"`, `displayName eq "and or not ( ) pr"`},
		// Extension attributes: any case, canonical URN kept.
		{schemas.Users(), ent + `:department eq "Tour Operations"`, ent + `:department eq "Tour Operations"`},
		{schemas.Users(), strings.ToUpper(ent) + `:Department eq "x"`, ent + `:department eq "x"`},
		{schemas.Users(), ent + `:manager.value eq "26118915"`, ent + `:manager.value eq "26118915"`},
		{schemas.Users(), schemas.CustomerUserURN + `:accountState eq "active"`, schemas.CustomerUserURN + `:accountState eq "active"`},
		// The core URN prefix is dropped.
		{schemas.Users(), schemas.UserURN + `:userName eq "x"`, `userName eq "x"`},
		// Value paths.
		{schemas.Users(), `emails[type eq "work" and value co "@example.com"]`, `emails[type eq "work" and value co "@example.com"]`},
		{schemas.Users(), `Emails[Type eq "work" and Value co "@x" and Primary eq true]`, `emails[type eq "work" and value co "@x" and primary eq true]`},
		{schemas.Users(), `emails[not (type eq "work")]`, `emails[not(type eq "work")]`},
		{schemas.Users(), `emails[type eq "a]"] and phoneNumbers[type eq "mobile"]`, `emails[type eq "a]"] and phoneNumbers[type eq "mobile"]`},
		{schemas.Users(), ent + `:manager[value eq "x"]`, ent + `:manager[value eq "x"]`},
		{schemas.Users(), `name[givenName eq "x"]`, `name[givenName eq "x"]`},
		// Value path followed by a sub-attribute comparison (defect (b)).
		{schemas.Users(), `emails[type eq "work"].value eq "a@b.c"`, `emails[type eq "work" and value eq "a@b.c"]`},
		{schemas.Users(), `emails[type eq "work" and primary eq true].value eq "a@b.c"`, `emails[type eq "work" and primary eq true and value eq "a@b.c"]`},
		{schemas.Users(), `emails[type eq "work"].value pr and title pr`, `emails[type eq "work" and value pr] and title pr`},
		{schemas.Users(), `(emails[type eq "work"].primary eq true)`, `emails[type eq "work" and primary eq true]`},
		{schemas.Groups(), `members[value eq "u1"]`, `members[value eq "u1"]`},
		{schemas.Groups(), `members.value eq "u1"`, `members.value eq "u1"`},
		{schemas.Groups(), `members eq "u1"`, `members eq "u1"`},
		// A filter that contains the placeholder prefix itself.
		{schemas.Users(), `userName eq "scimdlit0"`, `userName eq "scimdlit0"`},
		{schemas.Users(), `userName eq "scimdlitvp0" and emails[value eq "scimdlitx1"]`, `userName eq "scimdlitvp0" and emails[value eq "scimdlitx1"]`},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e := mustParseFilter(t, tt.rt, tt.filter)
			if got := fmt.Sprint(e); got != tt.want {
				t.Errorf("ParseFilter(%q) = %s, want %s", tt.filter, got, tt.want)
			}
		})
	}
}

func TestParseFilterPaths(t *testing.T) {
	// The paths themselves, not only their spelling, must be canonical.
	rt := schemas.Users()
	e := mustParseFilter(t, rt, `URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:MANAGER.VALUE eq "x"`)
	x, ok := e.(*filter.AttributeExpression)
	if !ok {
		t.Fatalf("got %T, want *filter.AttributeExpression", e)
	}
	if x.AttributePath.URIPrefix == nil || *x.AttributePath.URIPrefix != schemas.EnterpriseUserURN {
		t.Errorf("URIPrefix = %v, want %q", x.AttributePath.URIPrefix, schemas.EnterpriseUserURN)
	}
	if x.AttributePath.AttributeName != "manager" || x.AttributePath.SubAttributeName() != "value" {
		t.Errorf("path = %v, want manager.value", x.AttributePath)
	}

	e = mustParseFilter(t, rt, `EMAILS[TYPE eq "work"]`)
	vp, ok := e.(*filter.ValuePath)
	if !ok {
		t.Fatalf("got %T, want *filter.ValuePath", e)
	}
	if vp.AttributePath.URIPrefix != nil || vp.AttributePath.AttributeName != "emails" {
		t.Errorf("value path attribute = %v, want emails", vp.AttributePath)
	}
	inner, ok := vp.ValueFilter.(*filter.AttributeExpression)
	if !ok || inner.AttributePath.AttributeName != "type" || inner.AttributePath.SubAttribute != nil || inner.AttributePath.URIPrefix != nil {
		t.Errorf("value filter = %v, want relative path \"type\"", vp.ValueFilter)
	}

	e = mustParseFilter(t, rt, `userName eq "a" and id eq "b"`)
	if l, ok := e.(*filter.LogicalExpression); !ok || l.Operator != filter.AND {
		t.Errorf("got %#v, want an and expression", e)
	}

	for _, s := range []string{`emails.value eq "x"`, `name.givenName pr`, schemas.EnterpriseUserURN + `:department eq "x"`} {
		e := mustParseFilter(t, rt, s).(*filter.AttributeExpression)
		a, ok := FilterAttribute(rt, e.AttributePath)
		if !ok || a.FullName() != strings.Fields(s)[0] {
			t.Errorf("FilterAttribute(%v) = %q, %v; want %q", e.AttributePath, a.FullName(), ok, strings.Fields(s)[0])
		}
	}
	lower := "department"
	urn := strings.ToLower(schemas.EnterpriseUserURN)
	if a, ok := FilterAttribute(rt, filter.AttributePath{URIPrefix: &urn, AttributeName: lower}); !ok || a.Core || a.Attr.Name() != "department" {
		t.Errorf("FilterAttribute(lower-case extension path) = %+v, %v; want the enterprise department", a, ok)
	}
	if _, ok := FilterAttribute(rt, filter.AttributePath{AttributeName: "nope"}); ok {
		t.Errorf("FilterAttribute(nope) = ok, want not found")
	}
}

func TestParseFilterNumbers(t *testing.T) {
	// No numeric attribute exists in the schemas; numbers still parse and
	// are refused on string attributes with a clear detail.
	_, err := ParseFilter(schemas.Users(), `userName eq 12`)
	checkErr(t, err, InvalidFilter, `attribute "userName" is string: cannot compare it with 12`)
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		detail string
	}{
		{``, "empty filter"},
		{"  \t ", "empty filter"},
		{`foo eq "x"`, `filter: unknown attribute "foo"`},
		{`name.foo eq "x"`, `no sub-attribute "foo" in name`},
		{schemas.EnterpriseUserURN + `:dept eq "x"`, `unknown attribute "dept" in schema ` + schemas.EnterpriseUserURN},
		{`urn:example:foo:userName eq "x"`, `unknown attribute`},
		{`active gt true`, `operator "gt" cannot order boolean attribute "active"`},
		{`name gt "x"`, `complex attribute "name"`},
		{`emails gt "x"`, `complex attribute "emails"`},
		{`name eq "x"`, `attribute "name" is complex`},
		{`active co "t"`, `operator "co" needs a string attribute, and "active" is boolean`},
		{`meta.created sw "2020"`, `operator "sw" needs a string attribute`},
		{`meta.created gt "yesterday"`, `"yesterday" is not an RFC 3339 date and time`},
		{`active eq "maybe"`, `attribute "active" is boolean: cannot compare it with "maybe"`},
		{`userName eq true`, `attribute "userName" is string`},
		{`userName gt null`, `only eq and ne compare with null`},
		{`userName eq "abc`, `unterminated string`},
		{`userName eq "a\xb"`, `invalid string`},
		{`userName eq`, `invalid syntax`},
		{`userName xx "a"`, `invalid syntax`},
		{`userName eq "a" and`, `invalid syntax`},
		{`(userName eq "a"`, `invalid syntax`},
		{`userName eq "a")`, `invalid syntax`},
		{`userName[value eq "x"]`, `value filter on "userName", which is neither multi-valued nor complex`},
		{`name.givenName[value eq "x"]`, `value filter on sub-attribute "name.givenName"`},
		{`emails[typo eq "x"]`, `no sub-attribute "typo" in emails`},
		{`emails[emails.type eq "x"]`, `name a sub-attribute of emails`},
		{`emails[type eq "work"].valu eq "x"`, `no sub-attribute "valu" in emails`},
		{`emails[type eq "work"].value`, `expected a comparison after "].value"`},
		{`emails[type eq "work"].value zz "x"`, `invalid comparison`},
		{`emails[type eq "work"`, `unclosed "["`},
		{`emails[value[type eq "x"]]`, `cannot be nested`},
		{`emails[]`, `invalid syntax in value filter`},
		{`emails[type eq "x"] pr`, `invalid syntax`},
		{`emails[primary gt true]`, `operator "gt" cannot order boolean attribute "emails.primary"`},
		{strings.Repeat(`userName eq "x" or `, 1000) + `title pr`, `too long`},
		{strings.Repeat(`(`, 33) + `title pr` + strings.Repeat(`)`, 33), `parentheses nested more than 32 deep`},
		{strings.Repeat(`a`, 513) + ` pr`, `word longer than 512 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := ParseFilter(schemas.Users(), tt.filter)
			checkErr(t, err, InvalidFilter, tt.detail)
		})
	}
}

// checkErr fails unless err is an [Error] with code and a detail containing
// detail.
func checkErr(tb testing.TB, err error, code Code, detail string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want code %d with %q", code, detail)
	}
	var e Error // by value: elimity matches errors that way
	if !errors.As(err, &e) {
		tb.Fatalf("got error %T %q, want a resources.Error by value", err, err)
	}
	if e.Code != code || !strings.Contains(e.Detail, detail) {
		tb.Errorf("got error code %d %q, want code %d containing %q", e.Code, e.Detail, code, detail)
	}
}

func testUserDoc(tb testing.TB) map[string]any {
	tb.Helper()
	created := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	r := Resource{
		ID: "2819c223-7f76-453a-919d-413861904646",
		Attributes: map[string]any{
			"userName":   "Bjensen@Example.com",
			"externalId": "Ext-1",
			"name":       map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"active":     false,
			"title":      "",
			"emails": []any{
				map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
				map[string]any{"value": "babs@jensen.org", "type": "home"},
			},
			"phoneNumbers": []any{},
			"roles":        []any{map[string]any{"value": "admin"}},
			schemas.EnterpriseUserURN: map[string]any{
				"department": "Tour Operations",
				"manager":    map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
			},
		},
		Version:  3,
		Created:  created,
		Modified: created.Add(48 * time.Hour),
		Groups:   []Ref{{ID: "g1", Display: "Sales"}},
	}
	return Document(schemas.Users(), r, "https://scim.example.com/v2")
}

func TestMatch(t *testing.T) {
	rt := schemas.Users()
	doc := testUserDoc(t)
	const ent = schemas.EnterpriseUserURN
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "bjensen@example.com"`, true}, // caseExact false
		{`userName eq "BJENSEN@EXAMPLE.COM"`, true},
		{`userName eq "other@example.com"`, false},
		{`userName ne "other@example.com"`, true},
		{`userName ne "bjensen@example.com"`, false},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false}, // id is caseExact
		{`externalId eq "Ext-1"`, true},
		{`externalId eq "ext-1"`, false}, // externalId is caseExact
		{`userName sw "bjen"`, true},
		{`userName ew "EXAMPLE.COM"`, true},
		{`userName co "sen@"`, true},
		{`userName co "zzz"`, false},
		{`userName gt "a"`, true},
		{`userName gt "C"`, false}, // lexical, case-folded
		{`userName le "bjensen@example.com"`, true},
		{`name.givenName eq "barbara"`, true},
		{`name.middleName eq "x"`, false},
		{`name.middleName ne "x"`, true},
		{`name pr`, true},
		{`name.middleName pr`, false},
		{`title pr`, false}, // empty string is not present
		{`nickName pr`, false},
		{`nickName eq null`, true},
		{`userName eq null`, false},
		{`userName ne null`, true},
		{`phoneNumbers pr`, false}, // empty array is not present
		{`emails pr`, true},
		{`active eq false`, true},
		{`active eq true`, false},
		{`active ne true`, true},
		{`active pr`, true}, // false is a value
		{`emails.value eq "babs@jensen.org"`, true},
		{`emails.type eq "HOME"`, true},
		{`emails.type ne "home"`, false},
		{`emails.type ne "other"`, true},
		{`emails eq "babs@jensen.org"`, true}, // compares emails.value
		{`emails co "jensen.org"`, true},
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "work" and value co "@jensen.org"]`, false}, // same value must match both
		{`emails.type eq "work" and emails.value co "@jensen.org"`, true},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{`emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{`emails[type eq "home"].primary pr`, false},
		{`emails[type eq "work"].primary eq true`, true},
		{`emails[not (type eq "work")]`, true},
		{`emails[type eq "work" or type eq "other"]`, true},
		{`emails[primary eq true and type eq "home"]`, false},
		{`phoneNumbers[type eq "mobile"]`, false},
		{`roles[value eq "ADMIN"]`, true},
		{`groups.value eq "g1"`, true},
		{`groups[display eq "sales"]`, true},
		{`meta.created eq "2024-03-01T10:00:00Z"`, true},
		{`meta.created eq "2024-03-01T11:00:00+01:00"`, true}, // the same instant
		{`meta.lastModified gt "2024-03-02T10:00:00Z"`, true},
		{`meta.lastModified lt "2024-03-02T10:00:00Z"`, false},
		{`meta.lastModified ge "2024-03-03T10:00:00Z"`, true},
		{`meta.resourceType eq "User"`, true},
		{`meta.resourceType eq "user"`, false}, // caseExact
		{`meta.version eq "W/\"3\""`, true},
		{ent + `:department eq "tour operations"`, true},
		{strings.ToUpper(ent) + `:DEPARTMENT sw "Tour"`, true},
		{ent + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{ent + `:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{ent + `:costCenter pr`, false},
		{schemas.CustomerUserURN + `:accountState eq "active"`, false},
		{`userName eq "x" or name.familyName eq "jensen"`, true},
		{`userName eq "x" and name.familyName eq "jensen"`, false},
		{`not (userName eq "x")`, true},
		{`not (userName eq "x" or active eq false)`, false},
		{`(userName eq "x" or active eq false) and emails[type eq "work"]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e := mustParseFilter(t, rt, tt.filter)
			if got := Match(rt, doc, e); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchGroup(t *testing.T) {
	rt := schemas.Groups()
	doc := Document(rt, Resource{
		ID:         "g1",
		Attributes: map[string]any{"displayName": "Sales Team"},
		Members:    []Ref{{ID: "u1", Display: "Alice"}, {ID: "u2"}},
	}, "")
	tests := []struct {
		filter string
		want   bool
	}{
		{`displayName eq "sales team"`, true},
		{`members[value eq "u2"]`, true},
		{`members.value eq "u3"`, false},
		{`members.display eq "alice"`, true},
		{`members pr`, true},
		{`externalId pr`, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			if got := Match(rt, doc, mustParseFilter(t, rt, tt.filter)); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchRawExpressions(t *testing.T) {
	// Match accepts expressions that did not come from ParseFilter:
	// non-canonical names, upper-case operators, int operands.
	rt := schemas.Users()
	doc := testUserDoc(t)
	sub := "VALUE"
	tests := []struct {
		name string
		e    filter.Expression
		want bool
	}{
		{"upper-case path and operator", &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "USERNAME"}, Operator: "EQ", CompareValue: "bjensen@example.com"}, true},
		{"sub-attribute in any case", &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "emails", SubAttribute: &sub}, Operator: filter.EQ, CompareValue: "babs@jensen.org"}, true},
		{"unknown attribute", &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "nope"}, Operator: filter.PR}, false},
		{"type mismatch", &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "active"}, Operator: filter.EQ, CompareValue: 1}, false},
		{"nil expression", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(rt, doc, tt.e); got != tt.want {
				t.Errorf("Match(%v) = %v, want %v", tt.e, got, tt.want)
			}
		})
	}
}

func BenchmarkParseFilter(b *testing.B) {
	rt := schemas.Users()
	for _, s := range []string{
		`userName eq "bjensen@example.com"`,
		`emails[type eq "work" and value co "@example.com"] or meta.lastModified gt "2011-05-13T04:42:34Z"`,
	} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseFilter(rt, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	rt := schemas.Users()
	doc := testUserDoc(b)
	e := mustParseFilter(b, rt, `emails[type eq "work" and value co "@example.com"] and userName eq "bjensen@example.com"`)
	for b.Loop() {
		if !Match(rt, doc, e) {
			b.Fatal("no match")
		}
	}
}
