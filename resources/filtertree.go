package resources

import (
	"strconv"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/schemas"
)

// Filter is a filter parsed once and resolved against one resource type
// ([ParseFilter]): a [*Logical], [*Not], [*Comparison] or [*ValuePath].
// Its attributes are the schema's, its operators lower case and its operands
// in the form they compare in, so that neither the store's planner nor
// [Match] looks a path up or converts an operand again. The operators are
// the parser's constants (filter.EQ, filter.AND, ...).
//
// A Filter is read-only: its nodes also keep their operand in the derived
// forms it compares in. String returns it in canonical form: names spelled
// as in the schema, extension attributes with their URN, paths inside a
// value filter relative to it.
type Filter interface {
	String() string
	// write appends the canonical form to b.
	write(b *strings.Builder)
	// terms returns the number of comparisons.
	terms() int
}

// Logical is an "and" or an "or" of two filters.
type Logical struct {
	// Op is filter.AND or filter.OR.
	Op          filter.LogicalOperator
	Left, Right Filter
}

// Not is the negation of a filter.
type Not struct {
	Filter Filter
}

// ValuePath is a value filter (RFC 7644 §3.4.2.2, emails[type eq "work"]):
// it holds when one value of Attr satisfies Filter, whose comparisons name
// Attr with the sub-attribute they compare.
type ValuePath struct {
	// Attr is a multi-valued or complex attribute, without a sub-attribute.
	Attr   schemas.Attribute
	Filter Filter
}

// Comparison compares the values of one attribute with an operand.
type Comparison struct {
	// Attr is the attribute compared, as the filter names it. Inside a
	// value filter it is the value path's attribute with the sub-attribute
	// compared (emails[type eq "work"]: emails.type), or without one for
	// the values themselves of a multi-valued attribute of a simple type
	// (which the filter calls "value").
	Attr schemas.Attribute
	// Op is the operator, lower case.
	Op filter.CompareOperator
	// Value is the operand: a string (a dateTime as sent), a bool or a
	// float64; nil for "pr" and for null.
	Value any

	// whole: Attr is a complex attribute named without a sub-attribute,
	// outside a value filter ("emails eq ..." compares emails.value, but
	// "emails pr" is about emails).
	whole bool
	// inValue: the comparison is inside a value filter.
	inValue bool
	// typ and caseExact are those of the attribute whose values compare:
	// Attr's leaf, or the "value" sub-attribute of a complex attribute
	// compared as a whole.
	typ       schemas.AttributeType
	caseExact bool
	// base is put in front of a reference value the store keeps relative
	// before it compares ([Comparison.underBase]).
	base string
	// The operand as compared: str folded unless caseExact; num
	// for numbers, instant for dateTimes, boolean for booleans.
	str     string
	num     float64
	instant time.Time
	boolean bool
}

// newComparison builds the comparison of attribute a, whose canonical
// operator and operand checkOperator returned; inValue is set inside a value
// filter.
func newComparison(a schemas.Attribute, op filter.CompareOperator, cv any, inValue bool) *Comparison {
	c := &Comparison{Attr: a, Op: op, Value: cv, inValue: inValue}
	leaf := a.Leaf()
	if !inValue && a.Sub == nil && schemas.IsComplex(a.Attr) {
		c.whole = true
		if sub, ok := schemas.Find(a.Attr.SubAttributes(), "value"); ok {
			leaf = sub
		}
	}
	c.typ, c.caseExact = schemas.TypeOf(leaf), leaf.CaseExact()
	switch v := cv.(type) {
	case bool:
		c.boolean = v
	case float64:
		c.num = v
	case string:
		c.str = v
		if c.typ == schemas.TypeDateTime {
			c.instant, _ = time.Parse(time.RFC3339Nano, v) // checkOperator checked it
		} else if !c.caseExact {
			c.str = strings.ToLower(v)
		}
	}
	return c
}

// underBase returns c comparing references (meta.location, members.$ref)
// as clients see them: the store keeps them relative ("/Users/2819c223-…")
// and [Match] puts base, the URL clients see the service at, in front of
// them, so that every operator compares the URL the server returns. An
// operand under base spelled in another case is taken with base's
// spelling. base "" compares references as the store keeps them.
func (c *Comparison) underBase(base string) *Comparison {
	if base == "" || c.typ != schemas.TypeReference {
		return c
	}
	if v, ok := c.Value.(string); ok && len(v) >= len(base) && v[:len(base)] != base && strings.EqualFold(v[:len(base)], base) {
		c = newComparison(c.Attr, c.Op, base+v[len(base):], c.inValue)
	}
	c.base = base
	return c
}

// FilterTerms returns the number of comparisons in f, those inside value
// filters included: what evaluating f on one resource costs, about. A nil
// f has none.
func FilterTerms(f Filter) int {
	if f == nil {
		return 0
	}
	return f.terms()
}

func (e *Logical) terms() int    { return e.Left.terms() + e.Right.terms() }
func (e *Not) terms() int        { return e.Filter.terms() }
func (e *ValuePath) terms() int  { return e.Filter.terms() }
func (c *Comparison) terms() int { return 1 }

func (e *Logical) String() string    { return format(e) }
func (e *Not) String() string        { return format(e) }
func (e *ValuePath) String() string  { return format(e) }
func (c *Comparison) String() string { return format(c) }

func format(f Filter) string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

// write puts parentheses around an "or" inside an "and", as the parser's
// String does.
func (e *Logical) write(b *strings.Builder) {
	side := func(x Filter) {
		if l, ok := x.(*Logical); ok && e.Op == filter.AND && l.Op == filter.OR {
			b.WriteByte('(')
			x.write(b)
			b.WriteByte(')')
			return
		}
		x.write(b)
	}
	side(e.Left)
	b.WriteString(" " + string(e.Op) + " ")
	side(e.Right)
}

func (e *Not) write(b *strings.Builder) {
	b.WriteString("not(")
	e.Filter.write(b)
	b.WriteByte(')')
}

func (e *ValuePath) write(b *strings.Builder) {
	b.WriteString(e.Attr.FullName())
	b.WriteByte('[')
	e.Filter.write(b)
	b.WriteByte(']')
}

// relativeName is the name a comparison inside a value filter gives the
// attribute it compares: its sub-attribute's, or "value" for the values of
// a simple one.
func (c *Comparison) relativeName() string {
	if c.Attr.Sub != nil {
		return c.Attr.Sub.Name()
	}
	return "value"
}

func (c *Comparison) write(b *strings.Builder) {
	if c.inValue {
		b.WriteString(c.relativeName())
	} else {
		b.WriteString(c.Attr.FullName())
	}
	b.WriteString(" " + string(c.Op))
	switch v := c.Value.(type) {
	case nil:
	case string:
		b.WriteString(" " + strconv.Quote(v))
	case bool:
		b.WriteString(" " + strconv.FormatBool(v))
	case float64:
		b.WriteString(" " + strconv.FormatFloat(v, 'g', -1, 64))
	}
}
