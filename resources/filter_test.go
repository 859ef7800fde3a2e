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

func mustParseFilter(tb testing.TB, rt schemas.ResourceType, s string) Filter {
	tb.Helper()
	e, err := ParseFilter(rt, s, "")
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

func TestParseFilterResolves(t *testing.T) {
	// The tree's comparisons carry their schema attribute, in the schema's
	// spelling whatever the filter's, and their operand as it compares.
	const ent = schemas.EnterpriseUserURN
	loyalty := `{"id":"urn:example:loyalty","attributes":[{"name":"tier","type":"string"},` +
		`{"name":"since","type":"dateTime"},{"name":"codes","type":"string","multiValued":true,"caseExact":true},` +
		`{"name":"card","type":"complex","multiValued":true,"subAttributes":[{"name":"number","type":"string","caseExact":true}]}]}`
	def, err := schemas.ParseDefinition([]byte(loyalty))
	if err != nil {
		t.Fatal(err)
	}
	custom, err := schemas.Users().WithCustom([]schemas.Definition{def}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rt       schemas.ResourceType
		filter   string
		fullName string // of the comparison's attribute
		core     bool
		op       filter.CompareOperator
		value    any
		whole    bool
	}{
		{schemas.Users(), `USERNAME Eq "Bjensen"`, "userName", true, filter.EQ, "Bjensen", false},
		{schemas.Users(), `name.FAMILYNAME sw "J"`, "name.familyName", true, filter.SW, "J", false},
		{schemas.Users(), schemas.UserURN + `:Name.givenName pr`, "name.givenName", true, filter.PR, nil, false},
		{schemas.Users(), `emails eq "a@b.c"`, "emails", true, filter.EQ, "a@b.c", true},
		{schemas.Users(), `emails pr`, "emails", true, filter.PR, nil, true},
		{schemas.Users(), `active eq "False"`, "active", true, filter.EQ, false, false},
		{schemas.Users(), `userName eq null`, "userName", true, filter.EQ, nil, false},
		{schemas.Users(), `META.LASTMODIFIED GT "2011-05-13T04:42:34Z"`, "meta.lastModified", true, filter.GT, "2011-05-13T04:42:34Z", false},
		{schemas.Users(), `meta.resourceType eq "User"`, "meta.resourceType", true, filter.EQ, "User", false},
		{schemas.Groups(), `Meta.Created le "2024-01-01T00:00:00Z"`, "meta.created", true, filter.LE, "2024-01-01T00:00:00Z", false},
		{schemas.Users(), strings.ToLower(ent) + `:DEPARTMENT eq "x"`, ent + ":department", false, filter.EQ, "x", false},
		{schemas.Users(), ent + `:manager eq "m"`, ent + ":manager", false, filter.EQ, "m", true},
		{schemas.Users(), ent + `:Manager.Value eq "m"`, ent + ":manager.value", false, filter.EQ, "m", false},
		{custom, `URN:EXAMPLE:LOYALTY:Tier eq "Gold"`, "urn:example:loyalty:tier", false, filter.EQ, "Gold", false},
		{custom, `urn:example:loyalty:card.NUMBER co "42"`, "urn:example:loyalty:card.number", false, filter.CO, "42", false},
		{custom, `urn:example:loyalty:since ge "2020-01-01T00:00:00Z"`, "urn:example:loyalty:since", false, filter.GE, "2020-01-01T00:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			c, ok := mustParseFilter(t, tt.rt, tt.filter).(*Comparison)
			if !ok {
				t.Fatalf("ParseFilter(%q) is not a *Comparison", tt.filter)
			}
			if got := c.Attr.FullName(); got != tt.fullName || c.Attr.Core != tt.core {
				t.Errorf("ParseFilter(%q).Attr = %s (core %v), want %s (core %v)", tt.filter, got, c.Attr.Core, tt.fullName, tt.core)
			}
			if c.Op != tt.op || c.Value != tt.value || c.whole != tt.whole {
				t.Errorf("ParseFilter(%q) = %s %v (whole %v), want %s %v (whole %v)", tt.filter, c.Op, c.Value, c.whole, tt.op, tt.value, tt.whole)
			}
		})
	}

	for _, s := range []string{`urn:example:loyalty:tier eq "x"`, `urn:example:loyalty:card[number eq "x"]`} {
		_, err := ParseFilter(schemas.Users(), s, "")
		checkErr(t, err, InvalidFilter, "unknown attribute")
	}

	// A value path's comparisons name its attribute with their sub-attribute.
	vp, ok := mustParseFilter(t, schemas.Users(), `EMAILS[TYPE eq "work" and not (Value co "x")]`).(*ValuePath)
	if !ok || vp.Attr.FullName() != "emails" {
		t.Fatalf("value path = %#v, want one on emails", vp)
	}
	and, ok := vp.Filter.(*Logical)
	if !ok || and.Op != filter.AND {
		t.Fatalf("value filter = %v, want an and", vp.Filter)
	}
	if c := and.Left.(*Comparison); c.Attr.FullName() != "emails.type" || c.whole {
		t.Errorf("value filter's left = %s, want emails.type", c.Attr.FullName())
	}
	if c := and.Right.(*Not).Filter.(*Comparison); c.Attr.FullName() != "emails.value" {
		t.Errorf("value filter's right = %s, want emails.value", c.Attr.FullName())
	}
	codes := mustParseFilter(t, custom, `urn:example:loyalty:codes[VALUE eq "A1"]`).(*ValuePath)
	if c := codes.Filter.(*Comparison); c.Attr.FullName() != "urn:example:loyalty:codes" || c.Attr.Sub != nil || c.Value != "A1" {
		t.Errorf("codes[value eq] compares %s (sub %v) with %v, want the values of urn:example:loyalty:codes with A1", c.Attr.FullName(), c.Attr.Sub, c.Value)
	}
	if got := fmt.Sprint(codes); got != `urn:example:loyalty:codes[value eq "A1"]` {
		t.Errorf("String() = %s", got)
	}

	// The organization's attributes match as the schema says: tier ignores
	// case, codes and card numbers are caseExact.
	doc := Document(custom, Resource{ID: "u1", Attributes: map[string]any{
		"userName": "u",
		"urn:example:loyalty": map[string]any{
			"tier": "GOLD", "since": "2021-06-01T00:00:00+02:00", "codes": []any{"A1", "B2"},
			"card": []any{map[string]any{"number": "x42"}},
		},
	}}, "")
	for f, want := range map[string]bool{
		`urn:example:loyalty:tier eq "gold"`:                               true,
		`urn:example:loyalty:codes eq "b2"`:                                false,
		`urn:example:loyalty:codes[value eq "B2"]`:                         true,
		`urn:example:loyalty:card[number sw "X"]`:                          false,
		`urn:example:loyalty:card.number ew "42"`:                          true,
		`urn:example:loyalty:since gt "2021-05-31T21:59:59Z"`:              true,
		`urn:example:loyalty:since gt "2021-05-31T22:00:00Z"`:              false,
		`not (urn:example:loyalty:tier pr) or urn:example:loyalty:card pr`: true,
	} {
		if got := Match(doc, mustParseFilter(t, custom, f)); got != want {
			t.Errorf("Match(%s) = %v, want %v", f, got, want)
		}
	}
}

func TestParseFilterReferences(t *testing.T) {
	// References compare as the server returns them, under base; an operand
	// under base in another case takes base's spelling. Other attributes,
	// and references elsewhere, stay as sent.
	const base = "https://scim.example.com/v2"
	tests := []struct {
		rt     schemas.ResourceType
		filter string
		want   string
	}{
		{schemas.Users(), `meta.location eq "` + base + `/Users/u1"`, `meta.location eq "` + base + `/Users/u1"`},
		{schemas.Users(), `meta.location eq "HTTPS://SCIM.example.com/v2/Users/u1"`, `meta.location eq "` + base + `/Users/u1"`},
		{schemas.Users(), `meta.location eq "https://other.example.com/v2/Users/u1"`, `meta.location eq "https://other.example.com/v2/Users/u1"`},
		{schemas.Users(), `meta.location eq "` + base + `"`, `meta.location eq "` + base + `"`},
		{schemas.Users(), `groups.$ref eq "` + base + `/Groups/g1"`, `groups.$ref eq "` + base + `/Groups/g1"`},
		{schemas.Groups(), `members[$ref eq "HTTPS://scim.example.com/v2/Users/u1" and value eq "HTTPS://scim.example.com/v2/x"]`,
			`members[$ref eq "` + base + `/Users/u1" and value eq "HTTPS://scim.example.com/v2/x"]`},
		{schemas.Users(), `userName eq "` + base + `/x"`, `userName eq "` + base + `/x"`},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseFilter(tt.rt, tt.filter, base)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.String(); got != tt.want {
				t.Errorf("ParseFilter(%q, %q) = %s, want %s", tt.filter, base, got, tt.want)
			}
		})
	}
	// Documents in the store hold relative references: Match puts base in
	// front of them, whatever the operator.
	doc := Document(schemas.Users(), Resource{ID: "u1", Attributes: map[string]any{"userName": "u"}}, "")
	for _, tt := range []struct {
		filter, base string
		want         bool
	}{
		{`meta.location eq "https://scim.example.com/v2/Users/u1"`, base, true},
		{`meta.location eq "https://scim.example.com/v2/Users/u1"`, "", false},
		{`meta.location eq "/Users/u1"`, base, false},
		{`meta.location eq "/Users/u1"`, "", true},
		{`meta.location sw "https://"`, base, true},
		{`meta.location co "/v2/Users/"`, base, true},
		{`meta.location gt "https"`, base, true},
		{`meta.location lt "https"`, base, false},
		{`meta.location ew "/u1"`, base, true},
	} {
		f, err := ParseFilter(schemas.Users(), tt.filter, tt.base)
		if err != nil {
			t.Fatal(err)
		}
		if got := Match(doc, f); got != tt.want {
			t.Errorf("Match(%s) with base %q = %v, want %v", tt.filter, tt.base, got, tt.want)
		}
	}
}

func TestParseFilterNumbers(t *testing.T) {
	// No numeric attribute exists in the schemas; numbers still parse and
	// are refused on string attributes with a clear detail.
	_, err := ParseFilter(schemas.Users(), `userName eq 12`, "")
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
		{`userName eq "a")`, `unmatched ")"`},
		{`userName eq "a)" and (title pr))`, `unmatched ")"`},
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
		// Unmatched ")" first must not let a value filter nest deeper.
		{strings.Repeat(`)`, 8000) + `emails[` + strings.Repeat(`(`, 8000) + `]`, `unmatched ")"`},
		{strings.Repeat(`a`, 513) + ` pr`, `word longer than 512 bytes`},
	}
	for _, tt := range tests {
		name := tt.filter
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		t.Run(name, func(t *testing.T) {
			_, err := ParseFilter(schemas.Users(), tt.filter, "")
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
		{`emails.type ne "home"`, true}, // any value: the work email's type is not "home"
		{`emails.type ne "other"`, true},
		{`emails.value ne "babs@jensen.org"`, true},
		{`not (emails.type eq "home")`, false},
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
			if got := Match(doc, e); got != tt.want {
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
			if got := Match(doc, mustParseFilter(t, rt, tt.filter)); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func BenchmarkParseFilter(b *testing.B) {
	rt := schemas.Users()
	for _, s := range []string{
		`userName eq "bjensen@example.com"`,
		`emails[type eq "work" and value co "@example.com"] or meta.lastModified gt "2011-05-13T04:42:34Z"`,
		// The most comparisons a filter may hold, in parentheses.
		"(" + strings.Repeat(`userName eq "zz" or `, MaxFilterTerms-1) + `userName eq "zz")`,
	} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseFilter(rt, s, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	rt := schemas.Users()
	doc := testUserDoc(b)
	for _, f := range matchBenchFilters {
		e := mustParseFilter(b, rt, f)
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				Match(doc, e)
			}
		})
	}
}

var matchBenchFilters = []string{
	`emails[type eq "work" and value co "@example.com"] and userName eq "bjensen@example.com"`,
	`userName eq "bjensen@example.com"`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"`,
	`name.familyName co "jen" or title pr`,
	`active eq true`,
}
