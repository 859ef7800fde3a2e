package resources

import "context"

// UserSearch asks for one page of the users matching a search by the start
// of their attributes, newest first: the console's customers search. It is
// what the filter "a sw x or (b sw y and c sw z)" selects, sorted by
// meta.created descending, with a plan that stays cheap when a search
// matches most of a large organization (the filter's plan reads every
// match to sort them).
type UserSearch struct {
	// Terms are the alternatives: a user matches when, for every Prefix of
	// one term, a value of its attribute starts with it. Without terms,
	// every user matches.
	Terms [][]Prefix
	// Offset is how many matches, newest first, come before the page;
	// Count the page's size.
	Offset, Count int
}

// Prefix is the start of an indexed string attribute's value (userName,
// name.givenName, name.familyName, emails.value, ...), compared as the
// attribute's caseExact says.
type Prefix struct{ Attr, Value string }

// UserSearcher is what the store provides for [Users.Search].
type UserSearcher interface {
	// SearchUsers returns a page of the users q matches, newest first, and
	// how many match. It fails with [InvalidValue] for an attribute that
	// has no index, and with [TooMany] when counting the matches would
	// read more users than the store scans.
	SearchUsers(ctx context.Context, org string, q UserSearch) (Page, error)
}

// Search returns a page of the users q matches, newest first (see
// [UserSearch]). The page's resources may have Raw set and Attributes nil,
// as a [Query].RawOnly list's.
func (u *Users) Search(ctx context.Context, org string, q UserSearch) (Page, error) {
	if q.Count < 0 || q.Offset < 0 {
		return Page{}, Errorf(InvalidValue, "a search's offset and count are not negative")
	}
	return u.store.SearchUsers(ctx, org, q)
}
