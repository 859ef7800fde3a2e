package resources

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/scim2/filter-parser/v2"
	"github.com/scimd/scimd/schemas"
)

// generalParse parses s with the general parser only, bypassing the fast path.
func generalParse(t *testing.T, rt schemas.ResourceType, s string) (Filter, error) {
	t.Helper()
	l, err := lexLiterals(s)
	if err != nil {
		return nil, err
	}
	text, vps, err := extractValuePaths(l)
	if err != nil {
		return nil, err
	}
	e, err := filter.ParseFilter([]byte(strings.TrimSpace(text)))
	if err != nil {
		return nil, err
	}
	return checkTop(rt, l, vps, e, "")
}

// TestSimpleComparisonAgreesWithParser: the fast path for `attr op "literal"`
// yields exactly what the general parser yields, errors included.
func TestSimpleComparisonAgreesWithParser(t *testing.T) {
	rt := schemas.Users()
	for _, f := range []string{
		`userName eq "jane@example.com"`,
		`UserName EQ "Jane@Example.com"`,
		`  externalId   eq   "a b \" c"  `,
		`name.familyName sw "O'Brien"`,
		`emails.value co "\u00e9"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Sales"`,
		`meta.lastModified gt "2020-01-01T00:00:00Z"`,
		`active eq "true"`,
		`nosuch eq "x"`,
		`name.nosuch eq "x"`,
		`emails sw "x"`,
	} {
		t.Run(f, func(t *testing.T) {
			l, err := lexLiterals(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := simpleComparison(l); !ok {
				t.Fatalf("simpleComparison(%q) did not take the fast path", f)
			}
			fast, ferr := ParseFilter(rt, f, "")
			slow, serr := generalParse(t, rt, f)
			if (ferr == nil) != (serr == nil) {
				t.Fatalf("fast error %v, general error %v", ferr, serr)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Errorf("fast = %#v, general = %#v", fast, slow)
			}
		})
	}
	for _, f := range []string{`userName eq "a" and active eq true`, `emails[type eq "work"]`, `userName pr`, `active eq true`, `(userName eq "a")`} {
		l, _ := lexLiterals(f)
		if _, ok := simpleComparison(l); ok {
			t.Errorf("simpleComparison(%q) took the fast path; it must not", f)
		}
	}
}

// TestElementFilterFastPath: the value filter of a PATCH path that takes the
// fast path checks out exactly as with the general parser, errors included.
func TestElementFilterFastPath(t *testing.T) {
	rt := schemas.Users()
	for _, tt := range []struct{ attr, filter string }{
		{"emails", `type eq "work"`},
		{"emails", `Type EQ "Work"`},
		{"emails", `  value  eq  "a b \" c" `},
		{"phoneNumbers", `type eq "\u00e9"`},
		{"addresses", `type ne "home"`},
		{"emails", `primary eq "true"`},
		{"emails", `nosuch eq "x"`},
		{"emails", `display sw "x"`},
		{"x509Certificates", `value eq "x"`},
		{"emails", `0type eq "x"`},
		{"emails", `type.x eq "x"`},
		{"emails", `urn:x:type eq "x"`},
		{"emails", `type eq "work" and primary eq true`},
		{"emails", `type pr`},
	} {
		t.Run(tt.attr+"["+tt.filter+"]", func(t *testing.T) {
			a, err := resolve(rt, tt.attr)
			if err != nil {
				t.Fatal(err)
			}
			l, err := lexLiterals("[" + tt.filter + "]")
			if err != nil {
				t.Fatal(err)
			}
			inner := strings.TrimSpace(l.text[1 : len(l.text)-1])
			fast, ferr := parseElementFilter(l, inner)
			slow, serr := filter.ParseFilter([]byte(inner))
			if (ferr == nil) != (serr == nil) {
				t.Fatalf("parseElementFilter error %v, general parser error %v", ferr, serr)
			}
			if ferr != nil {
				return
			}
			fc, fcerr := checkElementFilter(a, l, fast, "")
			sc, scerr := checkElementFilter(a, l, slow, "")
			if fmt.Sprint(fcerr) != fmt.Sprint(scerr) || !reflect.DeepEqual(fc, sc) {
				t.Errorf("checked: fast = %#v, %v; general = %#v, %v", fc, fcerr, sc, scerr)
			}
		})
	}
}
