package resources

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Seek asks a store for a page next to a position in a query's order rather
// than at an offset (keyset paging): RFC 9865's cursors carry a [Position].
// A walk by Seek returns every resource that stays unchanged during the walk
// exactly once, whatever is created or deleted meanwhile, and each page costs
// a seek in an ordering index, not a count of the results before it.
type Seek struct {
	// From is the position to page from; nil is the start of the order
	// (with Before, its end).
	From *Position
	// Before asks for the Count results just before From, in order (the
	// previous page); otherwise the Count results just after From.
	Before bool
	// ByCreation asks for an unsorted query's results in creation order,
	// whose positions ([Position].Seq) compare across resource types: the
	// caller merges the pages of several types. Otherwise a filtered,
	// unsorted query may come in the order of the index it is read from.
	ByCreation bool
}

// Position is where a resource stands in the order of a query with Seek.
//
// Unsorted, the order is creation: Seq is the store's creation sequence,
// unique per organization across resource types. A store may instead answer
// a filtered, unsorted query in the order of an index it reads (unless
// [Seek].ByCreation): its positions then have HasKey, the index's value as
// Key, and a negative Seq that names the read, never a creation sequence;
// they compare only with positions of the same query. Sorted ([Query].Sort), the
// order is the sort key (RFC 7644 §3.4.2.3: no value sorts last ascending,
// first descending), then the id, so that it is total: HasKey reports
// whether the resource has a value, Key is the value as [Sort.PositionKey]
// encodes it.
type Position struct {
	Seq    int64
	HasKey bool
	Key    string
	ID     string
}

// PositionTimeLayout encodes dateTime sort keys in a [Position]: UTC, nine
// fraction digits, so that their lexical order is their time order, as in
// the stores' dateTime indexes.
const PositionTimeLayout = "2006-01-02T15:04:05.000000000Z"

// PositionKey returns the sort key of doc (a [Document]) as a [Position]
// holds it, and whether doc has one.
func (s Sort) PositionKey(doc map[string]any) (string, bool) {
	k, ok := s.SortKey(doc)
	if !ok {
		return "", false
	}
	switch x := k.(type) {
	case string:
		return x, true
	case time.Time:
		return x.UTC().Format(PositionTimeLayout), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// positionKey decodes a key encoded by PositionKey into what SortKey
// returns for it, by the type of the attribute sorted by.
func (s Sort) positionKey(key string) any {
	switch schemas.TypeOf(s.Attr.Leaf()) {
	case schemas.TypeDateTime:
		if t, err := time.Parse(time.RFC3339Nano, key); err == nil {
			return t
		}
	case schemas.TypeBoolean:
		if b, err := strconv.ParseBool(key); err == nil {
			return b
		}
	case schemas.TypeDecimal, schemas.TypeInteger:
		if f, err := strconv.ParseFloat(key, 64); err == nil {
			return f
		}
	}
	return key
}

// ComparePositions orders two positions of the query sorted by s (nil:
// unsorted, by creation, or by index value then id for positions read
// from an index).
func ComparePositions(s *Sort, a, b Position) int {
	if s == nil {
		if a.HasKey && b.HasKey {
			return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.ID, b.ID))
		}
		return cmp.Compare(a.Seq, b.Seq)
	}
	var ka, kb any
	if a.HasKey {
		ka = s.positionKey(a.Key)
	}
	if b.HasKey {
		kb = s.positionKey(b.Key)
	}
	if c := s.Compare(ka, a.HasKey, kb, b.HasKey); c != 0 {
		return c
	}
	c := strings.Compare(a.ID, b.ID)
	if s.Descending {
		c = -c
	}
	return c
}
