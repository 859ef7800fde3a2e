package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Resource is a stored User or Group.
//
// Attributes holds the client-settable attributes under their canonical names
// (see package schemas), extension attributes nested under their schema URN, and
// externalId. It never holds id, meta, schemas, password, groups or members:
// those are kept by the store and returned in the fields below.
type Resource struct {
	ID         string
	Attributes map[string]any
	// Raw, when set by a store read, is the JSON encoding of Attributes as
	// stored, so that a response can include it without encoding it again.
	// A read for display ([Query].RawOnly, [UserStore].ReadUser) may set Raw
	// and leave Attributes nil: see [Resource.DecodeAttributes].
	Raw []byte
	// Version increases by one with every change, membership changes included.
	Version  int64
	Created  time.Time
	Modified time.Time
	// Groups are a user's groups, computed from group membership.
	Groups []Ref
	// Members are a group's members (users). Filled only when requested.
	Members []Ref
}

// DecodeAttributes fills Attributes from Raw when a read for display left
// them out; otherwise it does nothing.
func (r *Resource) DecodeAttributes() error {
	if r.Attributes != nil || r.Raw == nil {
		return nil
	}
	if err := json.Unmarshal(r.Raw, &r.Attributes); err != nil {
		return fmt.Errorf("decode %s: %w", r.ID, err)
	}
	return nil
}

// FoldCase returns the form under which two values of a string attribute
// that is not caseExact are the same value (RFC 7643 §2.2: caseExact false).
// It is the one case folding of uniqueness (userName, a group's displayName)
// and of immutability (a userName resent in another case is the same
// userName), so that the two never disagree: a value the store holds apart
// from another is never "the same" when it is changed to it. It is
// strings.ToLower, the folding the stores' uniqueness and filter indexes
// use; full Unicode case folding (strings.EqualFold) would make "σς" and
// "ΣΣ" the same userName here and two different ones there.
func FoldCase(s string) string { return strings.ToLower(s) }

// Ref points at another resource: a group of a user, a member of a group.
type Ref struct {
	ID      string
	Display string
}

// Query selects and pages resources of one type.
type Query struct {
	// Filter is a filter parsed for the resource type (see [ParseFilter]);
	// nil selects every resource.
	Filter Filter
	// StartIndex is 1-based (RFC 7644 §3.4.2.4).
	StartIndex int
	// Count is the page size; 0 asks for totals only.
	Count int
	// Sort, when set, orders the results (RFC 7644 §3.4.2.3); otherwise they
	// come in creation order.
	Sort *Sort
	// WithMembers asks for group members to be loaded.
	WithMembers bool
	// RawOnly tells the store that the caller only renders the results: it
	// may then set Raw and leave Attributes nil, saving a JSON decode per
	// resource. Render with [AppendDocument], or call
	// [Resource.DecodeAttributes] before [Document].
	RawOnly bool
	// Type, when set, is the resource type Filter and Sort were parsed
	// against: an organization's Users with its custom attributes
	// ([Users.TypeFor]), which the store matches and plans with.
	Type *schemas.ResourceType
	// Seek, when set, pages by position instead of StartIndex: keyset paging,
	// behind RFC 9865's cursors (see [Seek]).
	Seek *Seek
}

// Page is one page of a query's results.
type Page struct {
	Total     int
	Resources []Resource
	// Positions, Next and Previous are set for a [Query] with Seek:
	// Positions[i] is where Resources[i] stands in the query's order; Next
	// and Previous report whether results follow the last resource and
	// precede the first one.
	Positions      []Position
	Next, Previous bool
}

// UserWrite carries what a user write stores beside the document.
type UserWrite struct {
	// PasswordHash, when not empty, replaces the stored password hash.
	PasswordHash string
	// EndLinks ends the user's pending emailed links (an invitation or
	// password reset, a self-registration confirmation) in the same write:
	// a link is good for the credentials and the account it was sent for,
	// not for those that replaced them (see [Users.prepare]).
	EndLinks bool
	// EndSessions (a disable) ends, besides the links, the customer's
	// sessions of the customer pages and password-change tickets: it
	// changes the user's [UserStore.SignInStamp], so that enabling the
	// account again does not bring back a session it was disabled over.
	EndSessions bool
	// Custom is what the organization's custom attributes, as the document
	// was checked against them, ask of the store: the attributes it
	// indexes and keeps unique, and their generation, which the store
	// checks is still current (else [ErrSchemaChanged]).
	Custom schemas.Custom
	// Typed reports that Custom is the organization's User type the
	// document was checked against, even of generation 0: the store then
	// refuses the write if that generation is no longer current. A write
	// that is not typed (a change of account state) is indexed under the
	// type the store reads itself.
	Typed bool
}

// MemberDelta is a change to a group's membership, applied atomically with the
// group document. Adding or removing one member costs O(1).
type MemberDelta struct {
	// RemoveAll empties the group before Add is applied.
	RemoveAll bool
	Add       []string
	Remove    []string
}

// UserStore stores users. Every write is atomic: document, indexes, memberships
// and password hash change together or not at all.
type UserStore interface {
	// CreateUser stores a new user. It fails with [Uniqueness] when the userName
	// is taken (ignoring case: under [FoldCase]).
	CreateUser(ctx context.Context, org string, u Resource, w UserWrite) (Resource, error)
	// GetUser returns a user with its groups, or [NotFound].
	GetUser(ctx context.Context, org, id string) (Resource, error)
	// ReadUser is GetUser for a caller that only renders the user: like a
	// [Query].RawOnly result, it may leave Attributes nil with Raw set.
	ReadUser(ctx context.Context, org, id string) (Resource, error)
	// ReplaceUser writes u if the stored version is still version, else it
	// returns [ErrVersionConflict]. It stores u.Attributes; u.Raw is
	// ignored.
	ReplaceUser(ctx context.Context, org string, u Resource, version int64, w UserWrite) (Resource, error)
	// DeleteUser removes a user from every group and index. version 0 deletes
	// whatever version is stored; otherwise a different stored version is
	// [ErrVersionConflict].
	DeleteUser(ctx context.Context, org, id string, version int64) error
	// ListUsers runs a query.
	ListUsers(ctx context.Context, org string, q Query) (Page, error)
	// PasswordHash returns the stored password hash of a user, or "" if none.
	PasswordHash(ctx context.Context, org, id string) (string, error)
	// SignInStamp returns what a customer's session or password-change
	// ticket is bound to: a string that changes with every new password
	// and every disable of the account ([UserWrite.EndSessions]); "" when
	// the user has no password.
	SignInStamp(ctx context.Context, org, id string) (string, error)
	UserSearcher
}

// GroupStore stores groups and their membership.
type GroupStore interface {
	// CreateGroup stores a new group with members g.Members. It fails with
	// [Uniqueness] when the displayName is taken (ignoring case: under
	// [FoldCase]) and with
	// [InvalidValue] when a member is not a user of the organization.
	CreateGroup(ctx context.Context, org string, g Resource) (Resource, error)
	// GetGroup returns a group, with its members when withMembers is set.
	GetGroup(ctx context.Context, org, id string, withMembers bool) (Resource, error)
	// ScanMembers calls fn with the members of group id, batch by batch, in
	// no particular order, each once, so that a reader's memory does not
	// grow with the group's size. A missing group has no members.
	ScanMembers(ctx context.Context, org, id string, fn func([]Ref) error) error
	// MemberCount returns how many members group id has, without reading
	// them; a missing group has none.
	MemberCount(ctx context.Context, org, id string) (int, error)
	// MembersAmong reports which of ids are members of group id; a missing
	// group has none.
	MembersAmong(ctx context.Context, org, id string, ids []string) (map[string]bool, error)
	// UpdateGroup writes g's attributes and applies d, if the stored version is
	// still version, else it returns [ErrVersionConflict]. When g.Attributes is
	// nil it applies only d, whatever the version: membership changes commute,
	// so concurrent member adds never conflict. The returned resource then has
	// no attributes.
	UpdateGroup(ctx context.Context, org string, g Resource, version int64, d MemberDelta) (Resource, error)
	// UpdateGroupIfDocument is UpdateGroup for a write computed from the
	// group's document alone: it applies if the stored document is still
	// based (the Raw of version, as GetGroup read it), else it returns
	// [ErrVersionConflict]. Membership changes, which give the group new
	// versions but leave its document alone, do not fail it: a rename goes
	// through while clients change members.
	UpdateGroupIfDocument(ctx context.Context, org string, g Resource, version int64, based []byte, d MemberDelta) (Resource, error)
	// DeleteGroup removes a group; its members lose it from their groups.
	DeleteGroup(ctx context.Context, org, id string, version int64) error
	// ListGroups runs a query.
	ListGroups(ctx context.Context, org string, q Query) (Page, error)
	MemberPages
}
