package resources

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/scim2/filter-parser/v2"
)

// The filter syntax: scimd's own reader of the filter grammar, into the
// filter parser's expression types.
//
// filter-parser (github.com/scim2/filter-parser/v2) defines the grammar of
// RFC 7644 §3.4.2.2 as a PEG and its expression types, which the rest of
// this package reads. Its reader allocates a node, and on every alternative
// that fails an error, at each character: 80 to 200 µs of CPU per
// comparison, measured before this reader replaced it (BenchmarkParseFilter:
// 410 to 630 µs and 8,410 allocations for `emails[type eq "work" and value
// co "@example.com"] or meta.lastModified gt "…"`; 9 to 21 ms for a filter
// of 100 comparisons), so that a filter cost a hundred times what answering
// it did. parseExpression reads the same
// PEG the same way, rule by rule in the same order, with one position and no
// allocation but the expressions it returns: a few hundred nanoseconds per
// comparison. The package's tests compare its answers with the library's on
// every input they generate (TestParseExpressionAgreesWithLibrary,
// FuzzParseExpression): the same expression, or both refuse.
//
// The grammar, as the library reads it (SP is one space; the quoted words,
// "and" to "true", are case-insensitive, the characters "e" / "E" and
// escapes are not; a / b tries a, then b; *x and 1*x take as many as they
// can and never give one back):
//
//	filter     = and *(1*SP "or" 1*SP and)
//	and        = value *(1*SP "and" 1*SP value)
//	value      = valuePath / attrExp / "not" *SP parens / parens
//	parens     = "(" *SP filter *SP ")"
//	valuePath  = attrPath *SP "[" *SP (valFilter / valNot) *SP "]"
//	valFilter  = attrExp *SP "or" *SP attrExp / attrExp *SP "and" *SP attrExp / attrExp
//	valNot     = "not" *SP "(" *SP valFilter *SP ")"
//	attrExp    = attrPath 1*SP ("pr" / compareOp 1*SP compValue)
//	attrPath   = [1*(1*(ALPHA / DIGIT / "-" / ".") ":")] attrName ["." attrName]
//	attrName   = ["$"] ALPHA *(ALPHA / DIGIT / "-" / "_")
//	compValue  = "false" / "null" / "true" / number / string
//	number     = ["-"] ("0" / %x31-39 *DIGIT) ["." 1*DIGIT] [("e" / "E") ["-" / "+"] 1*DIGIT]
//	string     = DQUOTE *(unescaped / "\" escaped) DQUOTE
//	unescaped  = %x20-21 / %x23-5B / %x5D-10FFFF
//	escaped    = DQUOTE / "\" / "/" / "b" / "f" / "n" / "r" / "t" / "u" 4(DIGIT / %x41-46)
//
// An "and" or "or" of more than two operands nests to the left, as the
// library builds it: a and b and c is (a and b) and c.

// errFilterSyntax is the error of a filter the grammar does not accept. Its
// callers say where, in the words of the request.
var errFilterSyntax = errors.New("invalid filter syntax")

// parseExpression parses s, a whole filter, as filter.ParseFilter does.
func parseExpression(s string) (filter.Expression, error) {
	p := syntaxReader{s: s}
	e, ok := p.filter()
	if !ok || p.i != len(s) {
		return nil, errFilterSyntax
	}
	return e, nil
}

// parseAttrExpression parses s, one comparison, as filter.ParseAttrExp does.
func parseAttrExpression(s string) (filter.AttributeExpression, error) {
	p := syntaxReader{s: s}
	e, ok := p.attrExp()
	if !ok || p.i != len(s) {
		return filter.AttributeExpression{}, errFilterSyntax
	}
	return e, nil
}

// syntaxReader reads s from i. Each rule returns whether it matched; one
// that did not leaves i where it found it, but for the tails (the rest of
// a rule after a part its caller read), whose caller puts i back.
type syntaxReader struct {
	s string
	i int
}

// filter = and *(1*SP "or" 1*SP and)
func (p *syntaxReader) filter() (filter.Expression, bool) {
	return p.chain(filter.OR, p.and)
}

// and = value *(1*SP "and" 1*SP value)
func (p *syntaxReader) and() (filter.Expression, bool) {
	return p.chain(filter.AND, p.value)
}

// chain reads operand *(1*SP op 1*SP operand), nesting to the left.
func (p *syntaxReader) chain(op filter.LogicalOperator, operand func() (filter.Expression, bool)) (filter.Expression, bool) {
	e, ok := operand()
	if !ok {
		return nil, false
	}
	for {
		at := p.i
		if !p.spaces(1) || !p.word(string(op)) || !p.spaces(1) {
			p.i = at
			return e, true
		}
		right, ok := operand()
		if !ok {
			p.i = at
			return e, true
		}
		e = &filter.LogicalExpression{Left: e, Right: right, Operator: op}
	}
}

// value = valuePath / attrExp / "not" *SP parens / parens
//
// valuePath and attrExp both begin with an attrPath, which reads the same
// from the same place: it is read once.
func (p *syntaxReader) value() (filter.Expression, bool) {
	at := p.i
	if path, ok := p.attrPath(); ok {
		after := p.i
		if vf, ok := p.valuePathTail(); ok {
			return &filter.ValuePath{AttributePath: path, ValueFilter: vf}, true
		}
		p.i = after
		if e, ok := p.attrExpTail(path); ok {
			return &e, true
		}
		p.i = at
	}
	if p.word("not") {
		p.spaces(0)
		if e, ok := p.parens(); ok {
			return &filter.NotExpression{Expression: e}, true
		}
		p.i = at
	}
	return p.parens()
}

// parens = "(" *SP filter *SP ")"
func (p *syntaxReader) parens() (filter.Expression, bool) {
	at := p.i
	if p.char('(') {
		p.spaces(0)
		if e, ok := p.filter(); ok {
			p.spaces(0)
			if p.char(')') {
				return e, true
			}
		}
	}
	p.i = at
	return nil, false
}

// valuePathTail reads what follows a value path's attrPath:
// *SP "[" *SP (valFilter / valNot) *SP "]".
func (p *syntaxReader) valuePathTail() (filter.Expression, bool) {
	p.spaces(0)
	if !p.char('[') {
		return nil, false
	}
	p.spaces(0)
	vf, ok := p.valFilter()
	if !ok {
		vf, ok = p.valNot()
	}
	if !ok {
		return nil, false
	}
	p.spaces(0)
	return vf, p.char(']')
}

// valFilter = attrExp *SP "or" *SP attrExp / attrExp *SP "and" *SP attrExp / attrExp
//
// The three alternatives begin with the same attrExp: it is read once.
func (p *syntaxReader) valFilter() (filter.Expression, bool) {
	left, ok := p.attrExp()
	if !ok {
		return nil, false
	}
	after := p.i
	for _, op := range [...]filter.LogicalOperator{filter.OR, filter.AND} {
		p.i = after
		p.spaces(0)
		if p.word(string(op)) {
			p.spaces(0)
			if right, ok := p.attrExp(); ok {
				return &filter.LogicalExpression{Left: &left, Right: &right, Operator: op}, true
			}
		}
	}
	p.i = after
	return &left, true
}

// valNot = "not" *SP "(" *SP valFilter *SP ")"
func (p *syntaxReader) valNot() (filter.Expression, bool) {
	at := p.i
	if p.word("not") {
		p.spaces(0)
		if p.char('(') {
			p.spaces(0)
			if e, ok := p.valFilter(); ok {
				p.spaces(0)
				if p.char(')') {
					return &filter.NotExpression{Expression: e}, true
				}
			}
		}
	}
	p.i = at
	return nil, false
}

// attrExp = attrPath 1*SP ("pr" / compareOp 1*SP compValue)
func (p *syntaxReader) attrExp() (filter.AttributeExpression, bool) {
	at := p.i
	if path, ok := p.attrPath(); ok {
		if e, ok := p.attrExpTail(path); ok {
			return e, true
		}
	}
	p.i = at
	return filter.AttributeExpression{}, false
}

// attrExpTail reads what follows a comparison's attrPath, path:
// 1*SP ("pr" / compareOp 1*SP compValue).
func (p *syntaxReader) attrExpTail(path filter.AttributePath) (filter.AttributeExpression, bool) {
	if !p.spaces(1) {
		return filter.AttributeExpression{}, false
	}
	if p.word("pr") {
		return filter.AttributeExpression{AttributePath: path, Operator: filter.PR}, true
	}
	if op, ok := p.compareOp(); ok && p.spaces(1) {
		if v, ok := p.compValue(); ok {
			return filter.AttributeExpression{AttributePath: path, Operator: op, CompareValue: v}, true
		}
	}
	return filter.AttributeExpression{}, false
}

// compareOps are the comparison operators but pr, in the grammar's order.
var compareOps = [...]filter.CompareOperator{filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW, filter.GT, filter.LT, filter.GE, filter.LE}

func (p *syntaxReader) compareOp() (filter.CompareOperator, bool) {
	for _, op := range compareOps {
		if p.word(string(op)) {
			return op, true
		}
	}
	return "", false
}

// attrPath = [1*(1*(ALPHA / DIGIT / "-" / ".") ":")] attrName ["." attrName]
func (p *syntaxReader) attrPath() (filter.AttributePath, bool) {
	at := p.i
	var path filter.AttributePath
	if end := p.uriEnd(); end > p.i {
		uri := p.s[p.i : end-1]
		path.URIPrefix = &uri
		p.i = end
	}
	name, ok := p.attrName()
	if !ok {
		p.i = at
		return filter.AttributePath{}, false
	}
	path.AttributeName = name
	if dot := p.i; p.char('.') {
		if sub, ok := p.attrName(); ok {
			path.SubAttribute = &sub
		} else {
			p.i = dot
		}
	}
	return path, true
}

// uriEnd returns where the URI prefix that begins at i ends, after its last
// ":" (i when there is none): as many runs of URI characters each ended by
// ":" as there are.
func (p *syntaxReader) uriEnd() int {
	end := p.i
	for j := p.i; ; {
		k := j
		for k < len(p.s) && (isAlnum(p.s[k]) || p.s[k] == '-' || p.s[k] == '.') {
			k++
		}
		if k == j || k == len(p.s) || p.s[k] != ':' {
			return end
		}
		j = k + 1
		end = j
	}
}

// attrName = ["$"] ALPHA *(ALPHA / DIGIT / "-" / "_")
func (p *syntaxReader) attrName() (string, bool) {
	start, j := p.i, p.i
	if j < len(p.s) && p.s[j] == '$' {
		j++
	}
	if j == len(p.s) || !isAlpha(p.s[j]) {
		return "", false
	}
	for j++; j < len(p.s) && isNameChar(p.s[j]); j++ {
	}
	p.i = j
	return p.s[start:j], true
}

// compValue = "false" / "null" / "true" / number / string
func (p *syntaxReader) compValue() (any, bool) {
	switch {
	case p.word("false"):
		return false, true
	case p.word("null"):
		return nil, true
	case p.word("true"):
		return true, true
	}
	if v, ok := p.number(); ok {
		return v, true
	}
	return p.str()
}

// number reads a JSON number as the library does: an int when it has no
// fraction and no exponent (converted through a float64, as there), else
// a float64. One out of float64's range (1e999) is refused here, where the
// library matches it and fails when converting it: the same answer, for
// no other rule can read those characters at that place.
func (p *syntaxReader) number() (any, bool) {
	start, j := p.i, p.i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	switch {
	case j < len(p.s) && p.s[j] == '0':
		j++
	case j < len(p.s) && '1' <= p.s[j] && p.s[j] <= '9':
		j = digitsEnd(p.s, j)
	default:
		return nil, false
	}
	whole := true
	if j < len(p.s) && p.s[j] == '.' {
		if k := digitsEnd(p.s, j+1); k > j+1 {
			j, whole = k, false
		}
	}
	if j < len(p.s) && (p.s[j] == 'e' || p.s[j] == 'E') {
		k := j + 1
		if k < len(p.s) && (p.s[k] == '-' || p.s[k] == '+') {
			k++
		}
		if e := digitsEnd(p.s, k); e > k {
			j, whole = e, false
		}
	}
	f, err := strconv.ParseFloat(p.s[start:j], 64)
	if err != nil {
		return nil, false
	}
	p.i = j
	if whole {
		return int(f), true
	}
	return f, true
}

// str = DQUOTE *(unescaped / "\" escaped) DQUOTE: the text between the
// quotes, escapes as they are (the library decodes none).
func (p *syntaxReader) str() (any, bool) {
	if p.i == len(p.s) || p.s[p.i] != '"' {
		return nil, false
	}
	j := p.i + 1
	for j < len(p.s) {
		switch c := p.s[j]; {
		case c == '"':
			v := p.s[p.i+1 : j]
			p.i = j + 1
			return v, true
		case c == '\\':
			n := escapeLen(p.s[j+1:])
			if n == 0 {
				return nil, false
			}
			j += 1 + n
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			j++
		default:
			_, size := utf8.DecodeRuneInString(p.s[j:])
			j += size
		}
	}
	return nil, false
}

// escapeLen returns the length of the escape s begins with, after its
// backslash: one of "\/bfnrt, or u and four upper-case hex digits; 0 when
// it is none.
func escapeLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 1
	case 'u':
		if len(s) < 5 {
			return 0
		}
		for i := 1; i < 5; i++ {
			if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
				return 0
			}
		}
		return 5
	}
	return 0
}

// spaces reads at least min spaces and reports whether it did.
func (p *syntaxReader) spaces(min int) bool {
	j := p.i
	for j < len(p.s) && p.s[j] == ' ' {
		j++
	}
	if j-p.i < min {
		return false
	}
	p.i = j
	return true
}

// word reads w, lower case ASCII, in any case.
func (p *syntaxReader) word(w string) bool {
	if len(p.s)-p.i < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if p.s[p.i+k]|0x20 != w[k] {
			return false
		}
	}
	p.i += len(w)
	return true
}

// char reads c.
func (p *syntaxReader) char(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func digitsEnd(s string, j int) int {
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	return j
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }
