package resources

import "context"

// MemberPageQuery asks for one page of a group's members in display order
// (case-insensitive for ASCII letters, then by user id): the members tab of
// the console. Pages are found by key (keyset paging), not by offset, so a
// page costs the same at the start and at the end of a large group.
type MemberPageQuery struct {
	// Prefix keeps the members whose display starts with it, ignoring the
	// case of ASCII letters; "" keeps all.
	Prefix string
	// After asks for the page that follows the key (a page's Next); Before
	// for the one that precedes it (a page's Prev). With neither, the first
	// page. Keys are opaque; a malformed key fails with [InvalidValue].
	After, Before string
	// Count is the page's size, at least 1.
	Count int
}

// MemberPage is one page of a group's members.
type MemberPage struct {
	// Members are the page's members, in display order.
	Members []Ref
	// Total is how many members the group has.
	Total int
	// Matching is how many of them match the query's Prefix (Total when
	// there is none).
	Matching int
	// Offset is how many members matching the Prefix come before the page.
	Offset int
	// Prev and Next are the keys of the pages before and after this one,
	// "" when there is none.
	Prev, Next string
}

// MemberPages is what the store provides for [Groups.MemberPage].
type MemberPages interface {
	// MemberPage returns one page of group id's members (see
	// [MemberPageQuery]), or [NotFound]. Its cost grows with the page
	// and the logarithm of the group's size, not with the group.
	MemberPage(ctx context.Context, org, id string, q MemberPageQuery) (MemberPage, error)
}

// MemberPage returns one page of group id's members in display order (see
// [MemberPageQuery]), or [NotFound].
func (g *Groups) MemberPage(ctx context.Context, org, id string, q MemberPageQuery) (MemberPage, error) {
	if q.Count < 1 {
		return MemberPage{}, Errorf(InvalidValue, "a page of members holds at least one member")
	}
	if q.After != "" && q.Before != "" {
		return MemberPage{}, Errorf(InvalidValue, "a page of members follows a key or precedes one, not both")
	}
	return g.store.MemberPage(ctx, org, id, q)
}
