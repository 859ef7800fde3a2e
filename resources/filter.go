package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/schemas"
)

// Bounds on the filters and paths scimd parses, so that a hostile query string
// costs little: reading one takes time in proportion to its length, and a
// level of parentheses is a level of recursion (parseExpression), which
// lexLiterals bounds at every point of the text, value filters included. A
// filter of 300 id comparisons fits; the longest attribute path
// (URN-prefixed) is under 100 bytes.
const (
	maxFilterLen   = 16 << 10
	maxFilterDepth = 32
	maxFilterWord  = 512
)

// MaxFilterTerms bounds the comparisons of one filter. Evaluating a filter no
// index covers costs its comparisons for every resource it examines: the
// store bounds that product per request (see FilterTerms), and this bounds
// its second factor, so that even a small scan of a hostile filter is cheap.
// Identity providers send one or two comparisons.
const MaxFilterTerms = 100

// ParseFilter parses s as a SCIM filter (RFC 7644 §3.4.2.2) and resolves it
// against rt, once: the [Filter] it returns is what the store plans on and
// [Match] evaluates.
//
// Every attribute path must name an attribute of rt; operators must fit the
// attribute's type (gt, ge, lt and le are refused on booleans, binaries and
// complex attributes; co, sw and ew need a string or reference attribute);
// value filters ("emails[type eq \"work\"]") apply only to multi-valued or
// complex attributes. Failures are [InvalidFilter] errors naming the problem.
//
// Booleans compared as "True"/"False" strings become bools and numbers
// float64. A reference (meta.location, members.$ref) compares as clients
// see it: under base, the URL clients see the service at, which [Match]
// puts in front of the relative form the store keeps ("/Users/2819c223-…");
// base "" compares references as the store keeps them. The form
// emails[type eq "work"].value eq "x" is returned as emails[type eq "work"
// and value eq "x"], which RFC 7644 §3.4.2.2 gives the same meaning: one
// value must satisfy both.
//
// An empty or blank s is an error: callers handle an absent filter themselves.
func ParseFilter(rt schemas.ResourceType, s, base string) (Filter, error) {
	e, err := parseFilter(rt, s, base)
	if err != nil {
		return nil, filterError(s, err)
	}
	return e, nil
}

// Match reports whether doc satisfies f, following RFC 7644 §3.4.2.2. doc is
// a resource as [Document] returns it; f is from [ParseFilter] for its type.
// A nil f matches nothing.
//
// Strings compare ignoring case unless the attribute is caseExact; dateTimes
// compare as instants; "pr" means present and not empty (a complex value
// with no non-empty sub-attribute is empty); "eq null" means not present. A
// comparison of a multi-valued attribute matches when any of its values
// matches, "ne" too (emails.type ne "work" holds of a user with a work and a
// home email); "ne" also holds when the attribute is absent. A comparison of
// a complex attribute itself ("emails eq \"a@b.c\"") compares its "value"
// sub-attribute. A value filter matches when one value satisfies all of it.
func Match(doc map[string]any, f Filter) bool {
	switch f := f.(type) {
	case *Logical:
		if f.Op == filter.OR {
			return Match(doc, f.Left) || Match(doc, f.Right)
		}
		return Match(doc, f.Left) && Match(doc, f.Right)
	case *Not:
		return !Match(doc, f.Filter)
	case *Comparison:
		return f.matchDoc(doc)
	case *ValuePath:
		for _, elem := range attrValues(f.Attr.Attr, attrContainer(doc, f.Attr)[f.Attr.Attr.Name()]) {
			if matchElement(elem, f.Filter) {
				return true
			}
		}
	}
	return false
}

// matchDoc evaluates a comparison outside a value filter against doc.
func (c *Comparison) matchDoc(doc map[string]any) bool {
	a := c.Attr
	v := attrContainer(doc, a)[a.Attr.Name()]
	if a.Sub == nil && !c.whole {
		if a.Attr.MultiValued() {
			return c.holds(elements(v))
		}
		one := [1]any{v}
		return c.holds(one[:])
	}
	if c.whole && c.Op == filter.PR {
		return present(v)
	}
	name := "value" // a complex attribute compared as a whole compares its value
	if a.Sub != nil {
		name = a.Sub.Name()
	}
	if !a.Attr.MultiValued() {
		m, _ := v.(map[string]any)
		one := [1]any{m[name]}
		return c.holds(one[:])
	}
	var buf [4]any
	vals := buf[:0]
	for _, elem := range elements(v) {
		if m, ok := elem.(map[string]any); ok {
			vals = append(vals, m[name])
		}
	}
	return c.holds(vals)
}

// matchElement evaluates a value filter against one value of its attribute:
// a map of sub-attributes for a complex attribute, else the value itself
// (which the filter calls "value").
func matchElement(elem any, f Filter) bool {
	switch f := f.(type) {
	case *Logical:
		if f.Op == filter.OR {
			return matchElement(elem, f.Left) || matchElement(elem, f.Right)
		}
		return matchElement(elem, f.Left) && matchElement(elem, f.Right)
	case *Not:
		return !matchElement(elem, f.Filter)
	case *Comparison:
		if f.Attr.Sub == nil {
			one := [1]any{elem}
			return f.holds(one[:])
		}
		m, ok := elem.(map[string]any)
		if !ok {
			return false
		}
		v := m[f.Attr.Sub.Name()]
		if f.Attr.Sub.MultiValued() {
			return f.holds(elements(v))
		}
		one := [1]any{v}
		return f.holds(one[:])
	}
	return false
}

// holds applies c to the values of its attribute (nil standing for none):
// true when any value satisfies it (RFC 7644 §3.4.2.2), "ne" included: it
// holds when some value differs from the operand. "ne" and "eq null" also
// hold when the attribute has no value.
func (c *Comparison) holds(vals []any) bool {
	switch {
	case c.Op == filter.PR:
		return anyPresent(vals)
	case c.Value == nil && c.Op == filter.EQ:
		return !anyPresent(vals)
	case c.Value == nil && c.Op == filter.NE:
		return anyPresent(vals)
	case c.Value == nil:
		return false
	case c.Op == filter.NE:
		some := false
		for _, v := range vals {
			if present(v) {
				if !c.compare(filter.EQ, v) {
					return true
				}
				some = true
			}
		}
		return !some
	}
	for _, v := range vals {
		if c.compare(c.Op, v) {
			return true
		}
	}
	return false
}

func anyPresent(vals []any) bool {
	for _, v := range vals {
		if present(v) {
			return true
		}
	}
	return false
}

// holdsOfAbsent reports whether a comparison with operator op and operand cv
// holds of an attribute without a value: "ne" and "eq null" do.
func holdsOfAbsent(op filter.CompareOperator, cv any) bool {
	return op == filter.NE && cv != nil || op == filter.EQ && cv == nil
}

// compare applies op to one value v and c's operand, by c's type.
func (c *Comparison) compare(op filter.CompareOperator, v any) bool {
	if v == nil {
		return false
	}
	switch c.typ {
	case schemas.TypeBoolean:
		a, ok := ParseBool(v)
		return ok && op == filter.EQ && a == c.boolean
	case schemas.TypeInteger, schemas.TypeDecimal:
		a, ok := toFloat(v)
		return ok && ordered(op, cmpFloat(a, c.num))
	case schemas.TypeDateTime:
		a, ok := v.(string)
		if !ok {
			return false
		}
		t, err := time.Parse(time.RFC3339Nano, a)
		return err == nil && ordered(op, t.Compare(c.instant))
	case schemas.TypeComplex:
		return false
	}
	a, ok := v.(string)
	if !ok {
		return false
	}
	if c.base != "" && strings.HasPrefix(a, "/") {
		a = c.base + a
	}
	if !c.caseExact {
		a = strings.ToLower(a)
	}
	return compareStrings(op, a, c.str)
}

// compare applies op to one value v and an operand cv of any form, by
// leaf's type: for values a filter did not parse (PATCH's selectors).
func compare(leaf schema.CoreAttribute, op filter.CompareOperator, v, cv any) bool {
	if v == nil {
		return false
	}
	switch schemas.TypeOf(leaf) {
	case schemas.TypeBoolean:
		a, ok1 := ParseBool(v)
		b, ok2 := ParseBool(cv)
		return ok1 && ok2 && op == filter.EQ && a == b
	case schemas.TypeInteger, schemas.TypeDecimal:
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(cv)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(op, cmpFloat(a, b))
	case schemas.TypeDateTime:
		a, ok1 := v.(string)
		b, ok2 := cv.(string)
		if !ok1 || !ok2 {
			return false
		}
		ta, err1 := time.Parse(time.RFC3339Nano, a)
		tb, err2 := time.Parse(time.RFC3339Nano, b)
		if err1 != nil || err2 != nil {
			return false
		}
		return ordered(op, ta.Compare(tb))
	case schemas.TypeComplex:
		return false
	}
	a, ok1 := v.(string)
	b, ok2 := cv.(string)
	if !ok1 || !ok2 {
		return false
	}
	if !leaf.CaseExact() {
		a, b = strings.ToLower(a), strings.ToLower(b)
	}
	return compareStrings(op, a, b)
}

// compareStrings applies op to a value a and an operand b, both in the case
// they compare in.
func compareStrings(op filter.CompareOperator, a, b string) bool {
	switch op {
	case filter.CO:
		return strings.Contains(a, b)
	case filter.SW:
		return strings.HasPrefix(a, b)
	case filter.EW:
		return strings.HasSuffix(a, b)
	}
	return ordered(op, strings.Compare(a, b))
}

// ordered reports whether a comparison result c (-1, 0, 1) satisfies op.
func ordered(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParseBool reads a boolean as SCIM clients send it: a JSON boolean, or the
// string "true" or "false" in any case (Entra ID sends "False"). ok is false
// for anything else. Filters, PATCH and the store's indexes all read booleans
// this way.
func ParseBool(v any) (b, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// attrContainer returns the map holding a's top-level attribute in doc: doc
// itself for core attributes, the extension's object otherwise (nil if absent).
func attrContainer(doc map[string]any, a schemas.Attribute) map[string]any {
	if a.Core {
		return doc
	}
	m, _ := doc[a.URN].(map[string]any)
	return m
}

// attrValues returns the values of attribute attr held in v: the elements of a
// multi-valued attribute, else v itself. It is empty when v is absent.
func attrValues(attr schema.CoreAttribute, v any) []any {
	if v == nil {
		return nil
	}
	if !attr.MultiValued() {
		return []any{v}
	}
	return elements(v)
}

// parseFilter does the work of ParseFilter; its errors are plain details.
func parseFilter(rt schemas.ResourceType, s, base string) (Filter, error) {
	l, vps, e, err := parseSyntax(s)
	if err != nil {
		return nil, err
	}
	return checkTop(rt, l, vps, e, base)
}

// parseSyntax parses s without checking it against a schema: the expression,
// its literals (l) and its value filters (vps) for [checkTop].
func parseSyntax(s string) (l lexed, vps []filter.Expression, e filter.Expression, err error) {
	if strings.TrimSpace(s) == "" {
		return l, nil, nil, errors.New("empty filter")
	}
	if len(s) > maxFilterLen {
		return l, nil, nil, fmt.Errorf("too long: %d bytes, at most %d", len(s), maxFilterLen)
	}
	if l, err = lexLiterals(s); err != nil {
		return l, nil, nil, err
	}
	if _, err := checkComparisons(l); err != nil {
		return l, nil, nil, fmt.Errorf("%w: split the query, or filter on fewer attributes", err)
	}
	text, vps, err := extractValuePaths(l)
	if err != nil {
		return l, nil, nil, err
	}
	if e, err = parseExpression(strings.TrimSpace(text)); err != nil {
		return l, nil, nil, fmt.Errorf("invalid syntax in %s", quoteShort(s))
	}
	return l, vps, e, nil
}

// checkComparisons returns the comparisons of l, a query's filter or the
// value filter of a PATCH path, and fails when there are more than
// [MaxFilterTerms]: counted before parsing, so that a filter refused costs
// no more than reading it.
func checkComparisons(l lexed) (int, error) {
	n := l.comparisons()
	if n > MaxFilterTerms {
		return n, fmt.Errorf("%d comparisons, at most %d", n, MaxFilterTerms)
	}
	return n, nil
}

// TypeFilter is one resource type's part of a filter across resource types:
// Expr, or, when the filter's outcome does not depend on the type's
// resources, nil and that outcome in All (every resource matches, or none).
type TypeFilter struct {
	Expr Filter
	All  bool
}

// ParseFilterAcross parses s for a query across the resource types rts (RFC
// 7644 §3.4.2.1), returning one [TypeFilter] per type, in order. For a type
// whose schema lacks an attribute the filter names, the attribute is one
// without a value (RFC 7644 §3.4.2.2): "pr" and comparisons are false, "ne"
// and "eq null" true. An attribute no type has, or any other fault, is an
// [InvalidFilter] error. base is as for [ParseFilter].
func ParseFilterAcross(rts []schemas.ResourceType, s, base string) ([]TypeFilter, error) {
	l, vps, e, err := parseSyntax(s)
	if err != nil {
		return nil, filterError(s, err)
	}
	out := make([]TypeFilter, len(rts))
	var unknown []string        // paths some type lacks, in order of appearance
	lacking := map[string]int{} // how many types lack each of them
	for i, rt := range rts {
		seen := map[string]bool{}
		pruned, outcome, err := foldLacking(rt, l, e, func(path string) {
			key := strings.ToLower(path)
			if seen[key] {
				return
			}
			seen[key] = true
			if lacking[key] == 0 {
				unknown = append(unknown, path)
			}
			lacking[key]++
		})
		if err != nil {
			return nil, filterError(s, err)
		}
		if pruned == nil {
			out[i] = TypeFilter{All: outcome}
			continue
		}
		if out[i].Expr, err = checkTop(rt, l, vps, pruned, base); err != nil {
			return nil, filterError(s, err)
		}
	}
	for _, path := range unknown {
		if lacking[strings.ToLower(path)] == len(rts) {
			return nil, Errorf(InvalidFilter, "filter: unknown attribute %q: no resource type has it", path)
		}
	}
	return out, nil
}

// foldLacking replaces each comparison on an attribute rt lacks by its outcome for
// a resource without that attribute, reporting the path to lacks, and folds
// the outcomes into the logical expressions around them. It returns the
// remaining expression, or nil and the whole filter's outcome.
func foldLacking(rt schemas.ResourceType, l lexed, e filter.Expression, lacks func(path string)) (filter.Expression, bool, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		left, lv, err := foldLacking(rt, l, x.Left, lacks)
		if err != nil {
			return nil, false, err
		}
		right, rv, err := foldLacking(rt, l, x.Right, lacks)
		if err != nil {
			return nil, false, err
		}
		or := strings.EqualFold(string(x.Operator), string(filter.OR))
		switch {
		case left == nil && lv == or, right == nil && rv == or: // true or …, false and …
			return nil, or, nil
		case left == nil: // false or x, true and x
			return right, rv, nil
		case right == nil:
			return left, lv, nil
		}
		return &filter.LogicalExpression{Left: left, Right: right, Operator: x.Operator}, false, nil
	case *filter.NotExpression:
		inner, v, err := foldLacking(rt, l, x.Expression, lacks)
		if inner == nil || err != nil {
			return nil, !v, err
		}
		return &filter.NotExpression{Expression: inner}, false, nil
	case *filter.AttributeExpression:
		path := attrPathString(x.AttributePath)
		if _, err := resolveCompared(rt, path); err == nil {
			return x, false, nil
		}
		lacks(path)
		cv, err := l.literal(x.CompareValue)
		if err != nil {
			return nil, false, err
		}
		return nil, holdsOfAbsent(filter.CompareOperator(strings.ToLower(string(x.Operator))), cv), nil
	case *filter.ValuePath:
		path := attrPathString(x.AttributePath)
		if _, err := resolveCompared(rt, path); err == nil {
			return x, false, nil
		}
		lacks(path)
		return nil, false, nil // no value satisfies a value filter
	}
	return e, false, nil
}

// lexed is a filter or path whose string literals were replaced by
// placeholders. The filter grammar's reader (parseExpression) keeps a
// literal as written, escapes undecoded, and refuses some escapes JSON
// allows ("\u00e9": it takes upper-case hex digits only), so literals are
// decoded here as the JSON strings they are (RFC 7644 §3.4.2.2: compValue
// is a JSON string) and put back in the AST.
type lexed struct {
	text   string
	prefix string   // placeholder prefix, absent from the input
	lits   []string // decoded literals; literal i is written "<prefix><i>"
}

// lexLiterals replaces the string literals of s with placeholders and turns
// tabs and line breaks outside literals into spaces, which is all the
// filter grammar allows as whitespace.
func lexLiterals(s string) (lexed, error) {
	l := lexed{prefix: "scimdlit"}
	for lower := strings.ToLower(s); strings.Contains(lower, l.prefix); {
		l.prefix += "x"
	}
	var (
		b     strings.Builder
		depth int
		word  int
	)
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(':
			if depth++; depth > maxFilterDepth {
				return lexed{}, fmt.Errorf("parentheses nested more than %d deep", maxFilterDepth)
			}
		case ')':
			// Unmatched: no filter or path holds one, and an
			// unmatched ")" before a "[" would let the value
			// filter inside nest deeper than the bound.
			if depth--; depth < 0 {
				return lexed{}, errors.New(`unmatched ")"`)
			}
		}
		switch c {
		case ' ', '\t', '\n', '\r', '(', ')', '[', ']':
			word = 0
		default:
			if word++; word > maxFilterWord {
				return lexed{}, fmt.Errorf("word longer than %d bytes", maxFilterWord)
			}
		}
		switch c {
		case '\t', '\n', '\r':
			b.WriteByte(' ')
			continue
		case '"':
		default:
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			return lexed{}, fmt.Errorf("unterminated string %s", quoteShort(s[i:]))
		}
		lit, err := decodeLiteral(s[i : j+1])
		if err != nil {
			return lexed{}, fmt.Errorf("invalid string %s: it must be a JSON string", quoteShort(s[i:j+1]))
		}
		b.WriteByte('"')
		b.WriteString(l.prefix)
		b.WriteString(strconv.Itoa(len(l.lits)))
		b.WriteByte('"')
		l.lits = append(l.lits, lit)
		i = j
	}
	l.text = b.String()
	return l, nil
}

// decodeLiteral decodes quoted, a filter's string literal with its quotes,
// as the JSON string it is. Most literals hold no escape, control character
// or invalid UTF-8: those are the text between the quotes, as
// json.Unmarshal would return them, without its reflection.
func decodeLiteral(quoted string) (string, error) {
	if inner := quoted[1 : len(quoted)-1]; utf8.ValidString(inner) && strings.IndexFunc(inner, func(r rune) bool { return r < 0x20 || r == '\\' || r == '"' }) < 0 {
		return inner, nil
	}
	var lit string
	err := json.Unmarshal([]byte(quoted), &lit)
	return lit, err
}

// comparisons counts the comparison operators of l: a word outside literals
// that is one (every comparison has exactly one), in any case. A word that
// lower-cases to an operator is two ASCII letters: no other letter
// lower-cases to one of theirs.
func (l lexed) comparisons() int {
	n := 0
	for w := range strings.FieldsFuncSeq(l.text, func(r rune) bool { return strings.ContainsRune(" ()[]", r) }) {
		if len(w) != 2 {
			continue
		}
		switch string([]byte{w[0] | 0x20, w[1] | 0x20}) {
		case "eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr":
			n++
		}
	}
	return n
}

// literal returns the compare value a parsed operand stands for: the decoded
// literal for a placeholder string, the value itself otherwise.
func (l lexed) literal(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return v, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(s, l.prefix))
	if !strings.HasPrefix(s, l.prefix) || err != nil || n < 0 || n >= len(l.lits) {
		return nil, fmt.Errorf("invalid string %q", s)
	}
	return l.lits[n], nil
}

// vpName returns the placeholder attribute name for value path n.
func (l lexed) vpName(n int) string { return l.prefix + "vp" + strconv.Itoa(n) }

// extractValuePaths parses every value filter "[...]" of l.text on its own with
// the full filter grammar (the parser's value-filter grammar takes at most two
// comparisons), folds a following ".sub op value" into it, and leaves
// "[<placeholder> pr]" in the text for the outer parse.
func extractValuePaths(l lexed) (string, []filter.Expression, error) {
	var (
		b   strings.Builder
		vps []filter.Expression
		s   = l.text
		i   = 0
	)
	for {
		open := strings.IndexByte(s[i:], '[')
		if open < 0 {
			b.WriteString(s[i:])
			return b.String(), vps, nil
		}
		open += i
		end := strings.IndexByte(s[open+1:], ']')
		if end < 0 {
			return "", nil, errors.New(`unclosed "["`)
		}
		end += open + 1
		inner := strings.TrimSpace(s[open+1 : end])
		if strings.Contains(inner, "[") {
			return "", nil, errors.New("value filters cannot be nested")
		}
		e, err := parseExpression(inner)
		if err != nil {
			return "", nil, fmt.Errorf("invalid syntax in value filter %s", quoteShort(restoreLiterals(l, inner)))
		}
		n, tail, err := parseTail(l, s[end+1:])
		if err != nil {
			return "", nil, err
		}
		if tail != nil {
			e = &filter.LogicalExpression{Left: e, Right: tail, Operator: filter.AND}
		}
		b.WriteString(s[i:open])
		b.WriteString("[" + l.vpName(len(vps)) + " pr]")
		vps = append(vps, e)
		i = end + 1 + n
	}
}

// parseTail parses the ".sub op value" or ".sub pr" that may follow a value
// filter and returns how many bytes of s it took.
func parseTail(l lexed, s string) (int, filter.Expression, error) {
	if !strings.HasPrefix(s, ".") {
		return 0, nil, nil
	}
	j := 1
	for j < len(s) && (isNameChar(s[j]) || (j == 1 && s[j] == '$')) {
		j++
	}
	sub := s[1:j]
	k := j
	for k < len(s) && s[k] == ' ' {
		k++
	}
	start := k
	for k < len(s) && isNameChar(s[k]) {
		k++
	}
	op := strings.ToLower(s[start:k])
	if sub == "" || start == j || op == "" {
		return 0, nil, fmt.Errorf("expected a comparison after %s", quoteShort(restoreLiterals(l, "]"+s[:j])))
	}
	if op == "pr" {
		return k, &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: sub}, Operator: filter.PR}, nil
	}
	for k < len(s) && s[k] == ' ' {
		k++
	}
	vstart := k
	if k < len(s) && s[k] == '"' {
		if q := strings.IndexByte(s[k+1:], '"'); q >= 0 {
			k += q + 2
		}
	} else {
		for k < len(s) && s[k] != ' ' && s[k] != ')' {
			k++
		}
	}
	e, err := parseAttrExpression(sub + " " + op + " " + s[vstart:k])
	if err != nil {
		return 0, nil, fmt.Errorf("invalid comparison %s", quoteShort(restoreLiterals(l, s[1:k])))
	}
	return k, &e, nil
}

func isNameChar(c byte) bool {
	return c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// restoreLiterals puts the original literals back into a fragment of l.text,
// for error messages.
func restoreLiterals(l lexed, s string) string {
	for i := len(l.lits) - 1; i >= 0; i-- {
		lit, _ := json.Marshal(l.lits[i])
		s = strings.ReplaceAll(s, `"`+l.prefix+strconv.Itoa(i)+`"`, string(lit))
	}
	return s
}

// checkTop validates a parsed top-level expression against rt and returns
// it resolved; base is as for [ParseFilter].
func checkTop(rt schemas.ResourceType, l lexed, vps []filter.Expression, e filter.Expression, base string) (Filter, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		left, err := checkTop(rt, l, vps, e.Left, base)
		if err != nil {
			return nil, err
		}
		right, err := checkTop(rt, l, vps, e.Right, base)
		if err != nil {
			return nil, err
		}
		return &Logical{Left: left, Right: right, Op: filter.LogicalOperator(strings.ToLower(string(e.Operator)))}, nil
	case *filter.NotExpression:
		x, err := checkTop(rt, l, vps, e.Expression, base)
		if err != nil {
			return nil, err
		}
		return &Not{Filter: x}, nil
	case *filter.AttributeExpression:
		a, err := resolveCompared(rt, attrPathString(e.AttributePath))
		if err != nil {
			return nil, err
		}
		cv, err := l.literal(e.CompareValue)
		if err != nil {
			return nil, err
		}
		if schemas.IsSecret(a.Attr) {
			return nil, secretAttrError(a.FullName())
		}
		op, cv, err := checkOperator(a.Leaf(), a.FullName(), a.Sub == nil, e.Operator, cv)
		if err != nil {
			return nil, err
		}
		return newComparison(a, op, cv, false).underBase(base), nil
	case *filter.ValuePath:
		a, err := resolveCompared(rt, attrPathString(e.AttributePath))
		if err != nil {
			return nil, err
		}
		if schemas.IsSecret(a.Attr) {
			return nil, secretAttrError(a.FullName())
		}
		if err := checkValuePathAttr(a); err != nil {
			return nil, err
		}
		inner, err := l.valuePath(vps, e.ValueFilter)
		if err != nil {
			return nil, err
		}
		vf, err := checkElementFilter(a, l, inner, base)
		if err != nil {
			return nil, err
		}
		return &ValuePath{Attr: a, Filter: vf}, nil
	}
	return nil, fmt.Errorf("unsupported expression %v", e)
}

// valuePath returns the value filter a "[<placeholder> pr]" stands for.
func (l lexed) valuePath(vps []filter.Expression, e filter.Expression) (filter.Expression, error) {
	if x, ok := e.(*filter.AttributeExpression); ok && x.Operator == filter.PR && x.AttributePath.URIPrefix == nil && x.AttributePath.SubAttribute == nil {
		name := x.AttributePath.AttributeName
		if n, err := strconv.Atoi(strings.TrimPrefix(name, l.prefix+"vp")); err == nil && name == l.vpName(n) && n < len(vps) {
			return vps[n], nil
		}
	}
	return nil, errors.New("invalid value filter")
}

// checkValuePathAttr checks that a value filter may apply to a.
func checkValuePathAttr(a schemas.Attribute) error {
	if a.Sub != nil {
		return fmt.Errorf("value filter on sub-attribute %q: put it on %q", a.FullName(), a.Attr.Name())
	}
	if !a.Attr.MultiValued() && !schemas.IsComplex(a.Attr) {
		return fmt.Errorf("value filter on %q, which is neither multi-valued nor complex", a.FullName())
	}
	return nil
}

// checkElementFilter validates the filter of a value path on a and returns
// it resolved: each comparison names a with the sub-attribute it compares.
// base is as for [ParseFilter].
func checkElementFilter(a schemas.Attribute, l lexed, e filter.Expression, base string) (Filter, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		left, err := checkElementFilter(a, l, e.Left, base)
		if err != nil {
			return nil, err
		}
		right, err := checkElementFilter(a, l, e.Right, base)
		if err != nil {
			return nil, err
		}
		return &Logical{Left: left, Right: right, Op: filter.LogicalOperator(strings.ToLower(string(e.Operator)))}, nil
	case *filter.NotExpression:
		x, err := checkElementFilter(a, l, e.Expression, base)
		if err != nil {
			return nil, err
		}
		return &Not{Filter: x}, nil
	case *filter.AttributeExpression:
		p := e.AttributePath
		if p.URIPrefix != nil || p.SubAttribute != nil {
			return nil, fmt.Errorf("%q in the value filter of %s: name a sub-attribute of %s", attrPathString(p), a.FullName(), a.Attr.Name())
		}
		leaf, name, compared := a.Attr, "value", a
		if schemas.IsComplex(a.Attr) {
			sub, ok := schemas.Find(a.Attr.SubAttributes(), p.AttributeName)
			if !ok {
				return nil, fmt.Errorf("no sub-attribute %q in %s", p.AttributeName, a.Attr.Name())
			}
			leaf, name, compared.Sub = sub, sub.Name(), &sub
		} else if !strings.EqualFold(p.AttributeName, "value") {
			return nil, fmt.Errorf("%q in the value filter of %s: its values are named \"value\"", p.AttributeName, a.FullName())
		}
		cv, err := l.literal(e.CompareValue)
		if err != nil {
			return nil, err
		}
		op, cv, err := checkOperator(leaf, a.FullName()+"."+name, false, e.Operator, cv)
		if err != nil {
			return nil, err
		}
		return newComparison(compared, op, cv, true).underBase(base), nil
	case *filter.ValuePath:
		return nil, errors.New("value filters cannot be nested")
	}
	return nil, fmt.Errorf("unsupported expression %v", e)
}

// checkOperator checks that op and its operand cv fit attribute leaf, named
// name for messages, and returns both in canonical form. whole is set when the
// expression names an attribute without a sub-attribute: a complex attribute
// then compares its "value" sub-attribute.
func checkOperator(leaf schema.CoreAttribute, name string, whole bool, op filter.CompareOperator, cv any) (filter.CompareOperator, any, error) {
	if schemas.IsSecret(leaf) {
		return "", nil, secretAttrError(name)
	}
	op = filter.CompareOperator(strings.ToLower(string(op)))
	switch op {
	case filter.PR:
		return op, nil, nil
	case filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW, filter.GT, filter.GE, filter.LT, filter.LE:
	default:
		return "", nil, fmt.Errorf("unknown operator %q", op)
	}
	typ := schemas.TypeOf(leaf)
	if typ == schemas.TypeComplex {
		if !whole {
			return "", nil, fmt.Errorf("attribute %q is complex: compare one of its sub-attributes", name)
		}
		if op != filter.EQ && op != filter.NE && op != filter.CO && op != filter.SW && op != filter.EW {
			return "", nil, fmt.Errorf("operator %q cannot compare complex attribute %q", op, name)
		}
		sub, ok := schemas.Find(leaf.SubAttributes(), "value")
		if !ok {
			return "", nil, fmt.Errorf("attribute %q is complex: compare one of its sub-attributes", name)
		}
		if schemas.IsSecret(sub) {
			return "", nil, secretAttrError(name + ".value")
		}
		leaf, name, typ = sub, name+".value", schemas.TypeOf(sub)
	}
	if cv == nil {
		if op != filter.EQ && op != filter.NE {
			return "", nil, fmt.Errorf("%s %s null: only eq and ne compare with null", name, op)
		}
		return op, nil, nil
	}
	switch op {
	case filter.CO, filter.SW, filter.EW:
		if typ != schemas.TypeString && typ != schemas.TypeReference {
			return "", nil, fmt.Errorf("operator %q needs a string attribute, and %q is %s", op, name, typ)
		}
	case filter.GT, filter.GE, filter.LT, filter.LE:
		if typ == schemas.TypeBoolean || typ == schemas.TypeBinary {
			return "", nil, fmt.Errorf("operator %q cannot order %s attribute %q", op, typ, name)
		}
	}
	bad := func(want string) error {
		return fmt.Errorf("attribute %q is %s: cannot compare it with %s", name, typ, describeFilterValue(cv, want))
	}
	switch typ {
	case schemas.TypeBoolean:
		b, ok := ParseBool(cv)
		if !ok {
			return "", nil, bad("a boolean")
		}
		return op, b, nil
	case schemas.TypeInteger, schemas.TypeDecimal:
		f, ok := toFloat(cv)
		if !ok {
			return "", nil, bad("a number")
		}
		if typ == schemas.TypeInteger && f != float64(int64(f)) {
			return "", nil, bad("an integer")
		}
		return op, f, nil
	case schemas.TypeDateTime:
		s, ok := cv.(string)
		if !ok {
			return "", nil, bad("a date and time")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "", nil, fmt.Errorf("attribute %q is a dateTime: %q is not an RFC 3339 date and time", name, s)
		}
		return op, s, nil
	}
	if _, ok := cv.(string); !ok {
		return "", nil, bad("a string")
	}
	return op, cv, nil
}

func describeFilterValue(v any, want string) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%s (want %s)", quoteShort(x), want)
	case bool:
		return fmt.Sprintf("%t (want %s)", x, want)
	}
	return fmt.Sprintf("%v (want %s)", v, want)
}

// resolve resolves a dotted attribute path, maybe prefixed with a schema URN,
// with an error naming the part that does not exist.
func resolve(rt schemas.ResourceType, path string) (schemas.Attribute, error) {
	urn, rest, hasURN := rt.Schema.ID, path, false
	if strings.IndexByte(path, ':') >= 0 { // Match resolves paths per document: skip the URN work when there is none.
		urn, rest, hasURN = rt.SplitURN(path)
		if !hasURN {
			urn = rt.Schema.ID
		}
	}
	if rest == "" {
		return schemas.Attribute{}, fmt.Errorf("path %q names a schema, not an attribute", path)
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	attr, ok := findAttr(rt, urn, name)
	if !ok {
		if hasURN && urn != rt.Schema.ID {
			return schemas.Attribute{}, fmt.Errorf("unknown attribute %q in schema %s", name, urn)
		}
		return schemas.Attribute{}, fmt.Errorf("unknown attribute %q", rest)
	}
	a := schemas.Attribute{URN: urn, Core: urn == rt.Schema.ID, Attr: attr}
	if hasSub {
		s, ok := schemas.Find(attr.SubAttributes(), sub)
		if !ok {
			return schemas.Attribute{}, fmt.Errorf("no sub-attribute %q in %s", sub, attr.Name())
		}
		a.Sub = &s
	}
	return a, nil
}

// resolveCompared resolves an attribute path a filter names: as [resolve],
// and also "schemas" (with or without the core schema's URN), which clients
// may filter on (RFC 7644 §3.4.2.2) and which [Document] computes.
func resolveCompared(rt schemas.ResourceType, path string) (schemas.Attribute, error) {
	a, err := resolve(rt, path)
	if err == nil {
		return a, nil
	}
	name := path
	if len(path) > len(rt.Schema.ID) && strings.EqualFold(path[:len(rt.Schema.ID)+1], rt.Schema.ID+":") {
		name = path[len(rt.Schema.ID)+1:]
	}
	if strings.EqualFold(name, "schemas") {
		return schemas.Attribute{URN: rt.Schema.ID, Core: true, Attr: schemas.SchemasAttribute()}, nil
	}
	return a, err
}

// findAttr finds the top-level attribute name of schema urn, ignoring case. It
// is rt.AttributesOf without building the common attributes on every call.
func findAttr(rt schemas.ResourceType, urn, name string) (schema.CoreAttribute, bool) {
	if urn != rt.Schema.ID {
		ext, _ := rt.Extension(urn)
		return schemas.Find(ext.Attributes, name)
	}
	if a, ok := schemas.Find(rt.Schema.Attributes, name); ok {
		return a, true
	}
	return schemas.Find(schemas.Common(), name)
}

// attrPathString writes p the way [schemas.ResourceType.Lookup] reads paths.
func attrPathString(p filter.AttributePath) string {
	s := p.AttributeName
	if p.URIPrefix != nil {
		s = *p.URIPrefix + ":" + s
	}
	if p.SubAttribute != nil {
		s += "." + *p.SubAttribute
	}
	return s
}

// secretAttrError refuses a filter on the attribute it names, whose values
// are never returned (password, a custom attribute writeOnly or returned
// "never"): matching them would answer guesses at a value the server
// withholds (sw "1", sw "12", …). It quotes no value, so [filterError]
// gives its detail even for a filter that names a password.
type secretAttrError string

func (e secretAttrError) Error() string {
	return fmt.Sprintf("%s is never returned, so it cannot be filtered on", string(e))
}

// filterError is the InvalidFilter error of filter s, with err's detail
// unless s names a password: a detail quotes parts of the filter back, and
// a password, the client's or a guess, is never in a response (the filter
// is refused all the same). A [secretAttrError] quotes nothing and is given.
func filterError(s string, err error) error {
	if se := secretAttrError(""); errors.As(err, &se) {
		return Errorf(InvalidFilter, "filter: %v", se)
	}
	if strings.Contains(strings.ToLower(s), "password") {
		return Errorf(InvalidFilter, "filter: it is not a valid filter (what is wrong is not said: the filter names a password, which a response never quotes back)")
	}
	return Errorf(InvalidFilter, "filter: %v", err)
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		return strconv.Quote(string(r[:max])) + "…"
	}
	return strconv.Quote(s)
}
