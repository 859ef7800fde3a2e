package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Custom attributes (README "Custom attributes"): an organization's owners
// define extension schemas for its Users ([schemas.Definition]); its User
// resource type is then [schemas.Users] plus them ([Users.TypeFor]), and
// validation, PATCH, projection, filtering and sorting use it as they use
// the built-in extensions.
//
// Changes to a schema that customers may use follow fixed rules
// ([schemas.CheckChange]): an attribute that stays keeps its type,
// multiValued, caseExact, uniqueness, indexed and sub-attributes;
// description, required, mutability, returned and canonicalValues may
// change and apply to later requests. Removing an attribute or a schema
// makes it vanish from responses, filters and input at once; its stored
// values, index entries and uniqueness claims are then purged in bounded
// batches ([ExtensionStore.PurgeExtensions]), and until that is done its
// name cannot be defined again (409).

// TypeSchema is the audited resource type of custom schema changes; their
// resource id is the schema's URN.
const TypeSchema = "Schema"

// ExtensionSet is an organization's custom attribute definitions as stored.
type ExtensionSet struct {
	// Generation counts the changes of the set (and the ends of purges).
	Generation int64
	// Definitions are the definitions' JSON, as [schemas.ParseDefinition]
	// made them.
	Definitions [][]byte
	// Purging are the removed schemas and attributes whose values are still
	// being purged.
	Purging []PurgeTarget
	// Substring are the attributes the substringSearch setting opts in to
	// a trigram index, and SubstringPending those whose trigram entries of
	// existing users are still being built or purged (see
	// [schemas.Custom]).
	Substring, SubstringPending []string
}

// PurgeTarget is a removed schema (Attr "") or attribute whose stored
// values are purged.
type PurgeTarget struct {
	URN  string `json:"urn"`
	Attr string `json:"attr,omitempty"`
}

// FullName is the target's name: the URN, or URN:attribute.
func (t PurgeTarget) FullName() string {
	if t.Attr == "" {
		return t.URN
	}
	return t.URN + ":" + t.Attr
}

// Covers reports whether the attribute of full name name (an index's or a
// claim's: "URN:attr", "URN:attr.sub") is the target's or one of its,
// ignoring case.
func (t PurgeTarget) Covers(name string) bool {
	full := strings.ToLower(t.FullName())
	name = strings.ToLower(name)
	return name == full || strings.HasPrefix(name, full+".") || t.Attr == "" && strings.HasPrefix(name, full+":")
}

// ExtensionChange is one change of an organization's definitions.
type ExtensionChange struct {
	URN string
	// Definition is the new definition's JSON; nil removes the schema.
	Definition []byte
	// Generation is the set's generation the change was checked against:
	// the store refuses it with [ErrVersionConflict] when the set changed
	// since.
	Generation int64
	// Purge are the schemas and attributes the change removes.
	Purge []PurgeTarget
	// Action is what the audit trail records (create, replace, delete).
	Action Action
}

// ExtensionStore stores an organization's custom attribute definitions. A
// [UserStore] that has it gives [Users] custom attributes.
type ExtensionStore interface {
	// Extensions reads the organization's set.
	Extensions(ctx context.Context, org string) (ExtensionSet, error)
	// ExtensionGeneration reads the set's generation alone.
	ExtensionGeneration(ctx context.Context, org string) (int64, error)
	// ChangeExtension applies c atomically with its audit entry and a new
	// generation.
	ChangeExtension(ctx context.Context, org string, c ExtensionChange) error
	// PurgeExtensions purges the stored values of removed schemas and
	// attributes in bounded batches, resumable, and returns how many
	// targets it finished (the set's generation grows with each).
	PurgeExtensions(ctx context.Context, org string) (int, error)
}

// ErrSchemaChanged is, to errors.Is, the error of a user write checked
// against an organization's custom attribute definitions that changed
// before it was stored: the write is checked again.
var ErrSchemaChanged = errors.New("the organization's custom attributes changed")

// customTTL is how long a server uses an organization's User resource type
// without asking whether its definitions changed (one GET then).
const customTTL = 2 * time.Second

// customTypes caches each organization's User resource type.
type customTypes struct {
	store ExtensionStore
	mu    sync.Mutex
	m     map[string]customEntry
}

type customEntry struct {
	rt      schemas.ResourceType
	checked time.Time
}

// TypeFor returns the organization's User resource type: the built-in
// schemas and its custom ones. It is read at most a few seconds ago (see
// customTTL); a change made through this process is seen at once.
func (u *Users) TypeFor(ctx context.Context, org string) (schemas.ResourceType, error) {
	c := u.custom
	if c == nil {
		return u.rt, nil
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[org]
	c.mu.Unlock()
	if ok && now.Sub(e.checked) < customTTL {
		return e.rt, nil
	}
	if ok {
		gen, err := c.store.ExtensionGeneration(ctx, org)
		if err != nil {
			return schemas.ResourceType{}, err
		}
		if gen == e.rt.Custom.Generation {
			e.checked = now
			c.put(org, e)
			return e.rt, nil
		}
	}
	set, err := c.store.Extensions(ctx, org)
	if err != nil {
		return schemas.ResourceType{}, err
	}
	rt, err := buildType(u.rt, set)
	if err != nil {
		return schemas.ResourceType{}, err
	}
	c.put(org, customEntry{rt: rt, checked: now})
	return rt, nil
}

func (c *customTypes) put(org string, e customEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]customEntry{}
	}
	c.m[org] = e
}

func (c *customTypes) forget(org string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, org)
}

// UserType returns the User resource type of an organization whose custom
// attribute definitions are set: [schemas.Users] and them, as
// [Users.TypeFor] makes it (scimd check verifies the store against it).
func (set ExtensionSet) UserType() (schemas.ResourceType, error) {
	return buildType(schemas.Users(), set)
}

// buildType returns base with the definitions of set.
func buildType(base schemas.ResourceType, set ExtensionSet) (schemas.ResourceType, error) {
	defs, err := parseSet(set)
	if err != nil {
		return schemas.ResourceType{}, err
	}
	purging := make([]string, len(set.Purging))
	for i, t := range set.Purging {
		purging[i] = t.FullName()
	}
	rt, err := base.WithCustom(defs, set.Generation, purging)
	if err != nil {
		return schemas.ResourceType{}, err
	}
	rt.Custom.Substring = set.Substring
	for _, a := range set.Substring {
		if !slices.Contains(set.SubstringPending, a) {
			rt.Custom.SubstringReady = append(rt.Custom.SubstringReady, a)
		}
	}
	return rt, nil
}

func parseSet(set ExtensionSet) ([]schemas.Definition, error) {
	defs := make([]schemas.Definition, 0, len(set.Definitions))
	for _, raw := range set.Definitions {
		d, err := schemas.ParseDefinition(raw)
		if err != nil {
			return nil, fmt.Errorf("stored custom schema: %w", err)
		}
		defs = append(defs, d)
	}
	slices.SortFunc(defs, func(a, b schemas.Definition) int { return strings.Compare(a.ID, b.ID) })
	return defs, nil
}

// errNoCustom is the answer of the custom schema API of a Users service
// whose store keeps no definitions.
var errNoCustom = Errorf(NotFound, "this server's store keeps no custom attributes")

// Extensions returns the organization's custom schemas, and the removed
// schemas and attributes still being purged.
func (u *Users) Extensions(ctx context.Context, org string) ([]schemas.Definition, []PurgeTarget, error) {
	if u.custom == nil {
		return nil, nil, nil
	}
	set, err := u.custom.store.Extensions(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	defs, err := parseSet(set)
	return defs, set.Purging, err
}

// Extension returns the organization's custom schema urn (ignoring case).
func (u *Users) Extension(ctx context.Context, org, urn string) (schemas.Definition, error) {
	defs, _, err := u.Extensions(ctx, org)
	if err != nil {
		return schemas.Definition{}, err
	}
	for _, d := range defs {
		if strings.EqualFold(d.ID, urn) {
			return d, nil
		}
	}
	return schemas.Definition{}, Errorf(NotFound, "no custom schema %q", urn)
}

// DefineExtension checks a definition (JSON, see [schemas.ParseDefinition])
// and stores it. With replace "" it creates a new schema (409 when the
// URN is taken); otherwise it replaces the schema replace, whose URN the
// definition must keep, under the change rules. It returns the definition
// as stored.
func (u *Users) DefineExtension(ctx context.Context, org string, data []byte, replace string) (schemas.Definition, error) {
	if u.custom == nil {
		return schemas.Definition{}, errNoCustom
	}
	def, err := schemas.ParseDefinition(data)
	if err != nil {
		return schemas.Definition{}, definitionError(err)
	}
	if replace != "" && !strings.EqualFold(def.ID, replace) {
		return schemas.Definition{}, Errorf(InvalidValue, "the definition's id %q is not the schema %q it replaces: a schema's URN cannot change", def.ID, replace)
	}
	return u.editExtension(ctx, org, def.ID, func(prev *schemas.Definition) (schemas.Definition, error) {
		switch {
		case replace == "" && prev != nil:
			return schemas.Definition{}, Errorf(Uniqueness, "custom schema %q exists: replace it with PUT /admin/v1/schemas/%s", prev.ID, prev.ID)
		case replace != "" && prev == nil:
			return schemas.Definition{}, Errorf(NotFound, "no custom schema %q", replace)
		}
		return def, nil
	})
}

// AddExtensionAttribute adds attr to the organization's custom schema urn
// (409 when the schema has an attribute of that name). Added while others
// change the schema, it is added to the schema as they left it.
func (u *Users) AddExtensionAttribute(ctx context.Context, org, urn string, attr schemas.AttributeDef) (schemas.Definition, error) {
	if u.custom == nil {
		return schemas.Definition{}, errNoCustom
	}
	return u.editExtension(ctx, org, urn, func(prev *schemas.Definition) (schemas.Definition, error) {
		if prev == nil {
			return schemas.Definition{}, Errorf(NotFound, "no custom schema %q", urn)
		}
		if a, ok := prev.Attr(attr.Name); ok {
			return schemas.Definition{}, Errorf(Uniqueness, "custom schema %q has an attribute %q already (names are case-insensitive)", prev.ID, a.Name)
		}
		next := *prev
		next.Attributes = append(slices.Clone(prev.Attributes), attr)
		return reparse(next)
	})
}

// RemoveExtensionAttribute removes the attribute name of the
// organization's custom schema urn: it vanishes at once, its stored values
// are purged. A schema's last attribute goes with the schema
// ([Users.RemoveExtension]).
func (u *Users) RemoveExtensionAttribute(ctx context.Context, org, urn, name string) (schemas.Definition, error) {
	if u.custom == nil {
		return schemas.Definition{}, errNoCustom
	}
	return u.editExtension(ctx, org, urn, func(prev *schemas.Definition) (schemas.Definition, error) {
		if prev == nil {
			return schemas.Definition{}, Errorf(NotFound, "no custom schema %q", urn)
		}
		if _, ok := prev.Attr(name); !ok {
			return schemas.Definition{}, Errorf(NotFound, "custom schema %q has no attribute %q", prev.ID, name)
		}
		if len(prev.Attributes) == 1 {
			return schemas.Definition{}, Errorf(InvalidValue, "attribute %q is the last of custom schema %q: remove the schema instead", name, prev.ID)
		}
		next := *prev
		next.Attributes = slices.DeleteFunc(slices.Clone(prev.Attributes), func(a schemas.AttributeDef) bool { return strings.EqualFold(a.Name, name) })
		return reparse(next)
	})
}

// reparse checks an edited definition as [schemas.ParseDefinition] checks
// one sent whole, filling in defaults.
func reparse(d schemas.Definition) (schemas.Definition, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return schemas.Definition{}, fmt.Errorf("encode schema %s: %w", d.ID, err)
	}
	out, err := schemas.ParseDefinition(raw)
	if err != nil {
		return schemas.Definition{}, definitionError(err)
	}
	return out, nil
}

// editExtension stores the definition edit makes of the organization's
// custom schema urn (prev nil: there is none) as the set is now: read,
// edit, checked against the change rules and the organization's bounds,
// written if the set did not change since it was read (else all again),
// then the removed attributes' values purged.
func (u *Users) editExtension(ctx context.Context, org, urn string, edit func(prev *schemas.Definition) (schemas.Definition, error)) (schemas.Definition, error) {
	var def schemas.Definition
	err := retryWrites(ctx, Errorf(Conflict, "custom schemas of the organization are being changed by other requests at the same time; retry"), func() error {
		set, err := u.custom.store.Extensions(ctx, org)
		if err != nil {
			return err
		}
		defs, err := parseSet(set)
		if err != nil {
			return err
		}
		var others []schemas.Definition
		var prev *schemas.Definition
		for i, d := range defs {
			if strings.EqualFold(d.ID, urn) {
				prev = &defs[i]
			} else {
				others = append(others, d)
			}
		}
		if def, err = edit(prev); err != nil {
			return err
		}
		stored, err := json.Marshal(def)
		if err != nil {
			return fmt.Errorf("encode schema %s: %w", def.ID, err)
		}
		c := ExtensionChange{URN: def.ID, Definition: stored, Generation: set.Generation, Action: ActionCreate}
		if prev != nil {
			removed, err := schemas.CheckChange(*prev, def)
			if err != nil {
				return definitionError(err)
			}
			for _, name := range removed {
				c.Purge = append(c.Purge, PurgeTarget{URN: def.ID, Attr: strings.TrimPrefix(name, def.ID+":")})
			}
			c.Action = ActionReplace
		}
		if err := checkSetBounds(def, others, set.Purging); err != nil {
			return err
		}
		return lostRace(u.custom.store.ChangeExtension(ctx, org, c))
	})
	u.custom.forget(org)
	if err != nil {
		return schemas.Definition{}, err
	}
	u.purge(ctx, org)
	return def, nil
}

// RemoveExtension removes the organization's custom schema urn: its
// attributes vanish at once, their stored values are purged.
func (u *Users) RemoveExtension(ctx context.Context, org, urn string) error {
	if u.custom == nil {
		return errNoCustom
	}
	err := retryWrites(ctx, Errorf(Conflict, "custom schemas of the organization are being changed by other requests at the same time; retry"), func() error {
		set, err := u.custom.store.Extensions(ctx, org)
		if err != nil {
			return err
		}
		defs, err := parseSet(set)
		if err != nil {
			return err
		}
		for _, d := range defs {
			if strings.EqualFold(d.ID, urn) {
				return lostRace(u.custom.store.ChangeExtension(ctx, org, ExtensionChange{URN: d.ID, Generation: set.Generation,
					Purge: []PurgeTarget{{URN: d.ID}}, Action: ActionDelete}))
			}
		}
		return Errorf(NotFound, "no custom schema %q", urn)
	})
	u.custom.forget(org)
	if err != nil {
		return err
	}
	u.purge(ctx, org)
	return nil
}

// purgeTimeout bounds the purge a schema change runs before it answers;
// what is left is resumed by the next change and when a server starts.
const purgeTimeout = time.Minute

// purge runs the organization's pending purges with a context of its own
// (a client that leaves does not stop it). A purge that fails is not the
// change's failure: it stays pending, and its names stay reserved.
func (u *Users) purge(ctx context.Context, org string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), purgeTimeout)
	defer cancel()
	if _, err := u.custom.store.PurgeExtensions(pctx, org); err != nil && u.onboarding != nil {
		u.onboarding.Log.WarnContext(ctx, "purging removed custom attributes failed; resumed later", "org", org, "err", err)
	}
	u.custom.forget(org)
}

// checkSetBounds checks def beside the organization's other definitions:
// the bounds of an organization, URNs that attribute paths could not tell
// apart, and names still being purged.
func checkSetBounds(def schemas.Definition, others []schemas.Definition, purging []PurgeTarget) error {
	if len(others)+1 > schemas.MaxDefinitions {
		return Errorf(InvalidValue, "an organization may have at most %d custom schemas; remove one first", schemas.MaxDefinitions)
	}
	urns := schemas.BuiltinURNs()
	for _, d := range others {
		urns = append(urns, d.ID)
	}
	if u, ok := schemas.URNOverlap(def.ID, urns); ok {
		return Errorf(InvalidValue, "id %q and the schema %q start alike (one is the other followed by ':'): attribute paths could not tell them apart; choose another URN", def.ID, u)
	}
	for _, t := range purging {
		// A URN that starts like one being purged (or is a purged
		// attribute's full name) would share the purge's names: the purge
		// would take its index entries and claims, the responses withhold
		// its values.
		// (A schema's own removed attribute is the rule below.)
		u, overlaps := schemas.URNOverlap(def.ID, []string{t.URN, t.FullName()})
		if !overlaps && t.Attr != "" && strings.EqualFold(def.ID, t.FullName()) {
			u, overlaps = t.FullName(), true
		}
		if overlaps && !strings.EqualFold(t.URN, def.ID) {
			return Errorf(Conflict, "id %q and %q, removed and still being purged, start alike: define it once that purge is done (retry in a moment), or choose another URN", def.ID, u)
		}
		if !strings.EqualFold(t.URN, def.ID) {
			continue
		}
		if t.Attr == "" {
			return Errorf(Conflict, "custom schema %q was removed and its values are still being purged: define it again once that is done (retry in a moment)", t.URN)
		}
		if _, ok := def.Attr(t.Attr); ok {
			return Errorf(Conflict, "attribute %q was removed and its values are still being purged: define it again once that is done (retry in a moment)", t.FullName())
		}
	}
	indexed, unique := 0, 0
	for _, d := range append(slices.Clone(others), def) {
		for _, a := range d.Attributes {
			if a.Indexed {
				indexed++
			}
			if a.Uniqueness == string(schemas.UniquenessServer) {
				unique++
			}
			for _, s := range a.SubAttributes {
				if s.Indexed {
					indexed++
				}
			}
		}
	}
	if indexed > schemas.MaxIndexed {
		return Errorf(InvalidValue, "an organization may have at most %d indexed custom attributes (each costs every write of a customer); this would make %d", schemas.MaxIndexed, indexed)
	}
	if unique > schemas.MaxUnique {
		return Errorf(InvalidValue, "an organization may have at most %d custom attributes with uniqueness \"server\"; this would make %d", schemas.MaxUnique, unique)
	}
	return nil
}

// definitionError is the client's error for what is wrong with a
// definition.
func definitionError(err error) error {
	var d *schemas.DefinitionError
	if !errors.As(err, &d) {
		return err
	}
	if d.Syntax {
		return Errorf(InvalidSyntax, "%s", d.Error())
	}
	return Errorf(InvalidValue, "%s", d.Error())
}
