package resources

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/scim2/filter-parser/v2"
)

// syntaxSeeds are filters, and near misses, for the library comparison.
var syntaxSeeds = []string{
	`userName eq "bjensen"`,
	`UserName EQ "Jane"`,
	`name.familyName co "O'Malley"`,
	`userName sw "J"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
	`title pr`,
	`title PR`,
	`title prx`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`meta.lastModified ge "2011-05-13T04:42:34Z"`,
	`title pr and userType eq "Employee"`,
	`title pr or userType eq "Intern"`,
	`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`userType eq "Employee" and (emails.type eq "work")`,
	`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`emails[type eq "work"]`,
	`emails[not (type eq "work")]`,
	`emails[not(type eq "work")]`,
	`emails [ type eq "work" ]`,
	`emails[type eq "work" or type eq "home"]`,
	`emails[type eq "work"or type eq "home"]`,
	`emails[a pr and b pr and c pr]`,
	`a pr and b pr or c pr and d pr`,
	`a pr or b pr or c pr or d pr`,
	`not (a pr)`,
	`not(a pr)`,
	`not pr`,
	`not eq "x"`,
	`(a pr)`,
	`( a pr )`,
	`((a pr) or (b pr))`,
	`a eq true`, `a eq False`, `a eq NULL`, `a eq nul`, `a eq truex`,
	`a eq 0`, `a eq -1`, `a eq 1.5`, `a eq 1e3`, `a eq 1E+3`, `a eq 1e-3`, `a eq 01`, `a eq -0`,
	`a eq 1.`, `a eq .5`, `a eq 1e`, `a eq 1e999`, `a eq 123456789012345678901234567890`, `a eq -`,
	`a eq "a\"b"`, `a eq "\u00e9"`, `a eq "\u00E9"`, `a eq "\x"`, `a eq "é"`, `a eq "tab	in"`, `a eq "unterminated`,
	`$ref eq "x"`, `members.$ref eq "x"`, `a-b_c pr`, `1a pr`, `a.1 pr`, `a.b.c pr`, `a. pr`,
	`urn:a pr`, `urn:a:b pr`, `urn:a:1b pr`, `:a pr`, `a: pr`, `urn::a pr`, `u.r-n:a.b pr`,
	`a  eq  "x"`, `a eq "x" `, ` a eq "x"`, `a eq"x"`, `a pr  and  b pr`, `a pr andb pr`, `a pr and(b pr)`,
	`a pr AND b pr`, `a pr Or b pr`, `a xx "x"`, `a eq`, `a`, ``, `()`, `[]`, `a[]`, `a[b pr`, `a[b pr]]`,
	`a[b pr].c eq "x"`, `a[b pr] and c pr`, `a [b pr]`, `not (a[b pr])`, `a[not (b pr) and c pr]`,
	`a[b eq "x" and not (c pr)]`, `a[(b pr)]`, `a[b pr] or`, `a pr or`, `and`, `not`, `not ()`,
	// What identity providers send, and value filters of PATCH paths.
	`  externalId   eq   "a b \" c"  `, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Sales"`,
	`active eq "true"`, `Type EQ "Work"`, `0type eq "x"`, `type.x eq "x"`, `urn:x:type eq "x"`, `primary eq true`,
	`type eq "work" and primary eq true`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
	// Runes that fold to ASCII, bytes that are no UTF-8, numbers out of range.
	"\u0130d pr", "a \u017Fw \"x\"", "a eq \"\xff\"", "a eq \"\x7f\"", "a eq \"\ufffd\"", `a eq "\U00e9"`,
	`a eq 1E+999`, `a eq 1e309`, `a eq 1.7976931348623159e308`, `a eq 99999999999999999999`, `a[b eq 1e999 or c pr]`,
	"a\u00a0eq \"x\"", "a eq\t\"x\"",
}

// TestParseExpressionAgreesWithLibrary: parseExpression and
// parseAttrExpression give what filter-parser gives, or both refuse, for
// the seeds and for generated filters: filters the grammar may accept, and
// random runs of its words.
func TestParseExpressionAgreesWithLibrary(t *testing.T) {
	for _, s := range syntaxSeeds {
		checkAgainstLibrary(t, s)
	}
	r := rand.New(rand.NewPCG(7, 31))
	for range 20000 {
		checkAgainstLibrary(t, randomFilter(r, 3))
		checkAgainstLibrary(t, randomWords(r))
	}
}

func FuzzParseExpression(f *testing.F) {
	for _, s := range syntaxSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 {
			return // the library's time grows fast with the length
		}
		checkAgainstLibrary(t, s)
	})
}

func checkAgainstLibrary(t *testing.T, s string) {
	t.Helper()
	want, werr := filter.ParseFilter([]byte(s))
	got, gerr := parseExpression(s)
	if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("parseExpression(%q) = %s, %v; filter-parser: %s, %v", s, describeExpr(got), gerr, describeExpr(want), werr)
	}
	wantA, werr := filter.ParseAttrExp([]byte(s))
	gotA, gerr := parseAttrExpression(s)
	if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(gotA, wantA) {
		t.Fatalf("parseAttrExpression(%q) = %s, %v; filter-parser: %s, %v", s, describeExpr(&gotA), gerr, describeExpr(&wantA), werr)
	}
}

// describeExpr spells out an expression, pointers followed, for failures.
func describeExpr(e filter.Expression) string {
	switch e := e.(type) {
	case nil:
		return "<nil>"
	case *filter.LogicalExpression:
		return fmt.Sprintf("(%s %s %s)", describeExpr(e.Left), e.Operator, describeExpr(e.Right))
	case *filter.NotExpression:
		return fmt.Sprintf("not(%s)", describeExpr(e.Expression))
	case *filter.ValuePath:
		return fmt.Sprintf("%s[%s]", describePath(e.AttributePath), describeExpr(e.ValueFilter))
	case *filter.AttributeExpression:
		return fmt.Sprintf("{%s %s %#v}", describePath(e.AttributePath), e.Operator, e.CompareValue)
	}
	return fmt.Sprintf("%T", e)
}

func describePath(p filter.AttributePath) string {
	s := fmt.Sprintf("name=%q", p.AttributeName)
	if p.URIPrefix != nil {
		s = fmt.Sprintf("uri=%q ", *p.URIPrefix) + s
	}
	if p.SubAttribute != nil {
		s += fmt.Sprintf(" sub=%q", *p.SubAttribute)
	}
	return s
}

var (
	syntaxNames = []string{"userName", "name.givenName", "emails", "emails.value", "$ref", "a-b_c", "x1", "1x", "a.", "a.b.c",
		"urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:a:b.c", "urn:", ":b", "not", "and", "pr", "eq"}
	syntaxOps    = []string{"eq", "EQ", "Ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "xx", "e"}
	syntaxValues = []string{`"str"`, `"a\"b"`, `"\u00e9"`, `"\u00E9"`, `"\q"`, `"é"`, `""`, `"`, "true", "False", "NULL", "nul", "truex",
		"0", "-1", "1.5", "1e3", "1E+3", "01", "-0", "1.", ".5", "1e", "1e999", "123456789012345678901234567890", "-"}
	syntaxWords = []string{"and", "or", "not", "AND", "Or", "NOT", "andx", "(", ")", "[", "]", ".", ":", "$", "pr", "PR", "@", "é", " "}
)

// randomFilter returns a filter built by the grammar's rules, with random
// spacing and case, and now and then a token out of place.
func randomFilter(r *rand.Rand, depth int) string {
	pick := func(l []string) string { return l[r.IntN(len(l))] }
	sp := func() string { return []string{" ", " ", " ", "  ", ""}[r.IntN(5)] }
	attrExp := func() string {
		if r.IntN(4) == 0 {
			return pick(syntaxNames) + sp() + pick([]string{"pr", "PR", "prx"})
		}
		return pick(syntaxNames) + sp() + pick(syntaxOps) + sp() + pick(syntaxValues)
	}
	if depth == 0 || r.IntN(3) == 0 {
		switch r.IntN(6) {
		case 0:
			inner := attrExp()
			switch r.IntN(4) {
			case 0:
				inner += sp() + pick([]string{"and", "or", "AND"}) + sp() + attrExp()
			case 1:
				inner = "not" + sp() + "(" + sp() + inner + sp() + ")"
			}
			return pick(syntaxNames) + sp() + "[" + sp() + inner + sp() + "]"
		case 1:
			return pick(syntaxWords)
		default:
			return attrExp()
		}
	}
	switch r.IntN(4) {
	case 0:
		return "(" + sp() + randomFilter(r, depth-1) + sp() + ")"
	case 1:
		return pick([]string{"not", "NOT"}) + sp() + "(" + sp() + randomFilter(r, depth-1) + sp() + ")"
	default:
		return randomFilter(r, depth-1) + sp() + pick([]string{"and", "or", "AND", "Or"}) + sp() + randomFilter(r, depth-1)
	}
}

// randomWords returns a run of the grammar's words, names and values in
// any order.
func randomWords(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(8) {
		var l []string
		switch r.IntN(4) {
		case 0:
			l = syntaxNames
		case 1:
			l = syntaxOps
		case 2:
			l = syntaxValues
		default:
			l = syntaxWords
		}
		b.WriteString(l[r.IntN(len(l))])
		if r.IntN(4) > 0 {
			b.WriteByte(' ')
		}
	}
	return strings.TrimRight(b.String(), " ")
}
