package resources

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// Groups is the group service: the rules of /Groups. Members are users of the
// same organization.
type Groups struct {
	store GroupStore
	rt    schemas.ResourceType
	// filterWork bounds one PATCH's filter work: [MaxFilterWork], lowered
	// by tests.
	filterWork int
}

// NewGroups returns the Groups service on store.
func NewGroups(store GroupStore) *Groups {
	return &Groups{store: store, rt: schemas.Groups(), filterWork: MaxFilterWork}
}

// ResourceType returns the Group resource type.
func (g *Groups) ResourceType() schemas.ResourceType { return g.rt }

// Create creates a group from a POST body.
func (g *Groups) Create(ctx context.Context, org string, raw map[string]any) (Resource, error) {
	attrs, members, err := g.normalize(raw)
	if err != nil {
		return Resource{}, err
	}
	refs := make([]Ref, len(members))
	for i, id := range members {
		refs[i] = Ref{ID: id}
	}
	return g.store.CreateGroup(ctx, org, Resource{Attributes: attrs, Members: refs})
}

// Get returns a group, with its members when withMembers is set.
func (g *Groups) Get(ctx context.Context, org, id string, withMembers bool) (Resource, error) {
	return g.store.GetGroup(ctx, org, id, withMembers)
}

// ScanMembers calls fn with the members of group id, batch by batch (see
// [GroupStore]).
func (g *Groups) ScanMembers(ctx context.Context, org, id string, fn func([]Ref) error) error {
	return g.store.ScanMembers(ctx, org, id, fn)
}

// List runs a query over the organization's groups.
func (g *Groups) List(ctx context.Context, org string, q Query) (Page, error) {
	return g.store.ListGroups(ctx, org, q)
}

// Replace replaces a group, members included, from a PUT body.
func (g *Groups) Replace(ctx context.Context, org, id string, raw map[string]any, ifMatch int64) (Resource, error) {
	attrs, members, err := g.normalize(raw)
	if err != nil {
		return Resource{}, err
	}
	return g.update(ctx, org, id, ifMatch, func(Resource) (map[string]any, MemberDelta, error) {
		return cloneMap(attrs), MemberDelta{RemoveAll: true, Add: members}, nil
	})
}

// Patch applies PATCH operations to a group. Member operations become a
// membership delta: adding or removing one member never rewrites the list.
// The request's filters, in paths and on members, share one budget of
// [MaxFilterWork] comparisons ([TooMany] past it): a member filter of
// "value eq" comparisons costs only its parsing, any other costs its
// comparisons times the group's members.
func (g *Groups) Patch(ctx context.Context, org, id string, ops []PatchOp, ifMatch int64) (Resource, error) {
	ops, err := dropEchoedID(ops, id)
	if err != nil {
		return Resource{}, err
	}
	memberOps, rest, err := SplitMemberOps(g.rt, ops)
	if err != nil {
		return Resource{}, err
	}
	work := newPatchWork(ctx, g.rt, g.filterWork)
	if len(rest) == 0 && ifMatch == 0 {
		// Only members change: apply the delta without reading the group, so
		// concurrent member adds and removes never conflict.
		d, err := g.memberDelta(ctx, org, id, memberOps, work)
		if err != nil {
			return Resource{}, err
		}
		return g.store.UpdateGroup(ctx, org, Resource{ID: id}, 0, d)
	}
	return g.update(ctx, org, id, ifMatch, func(cur Resource) (map[string]any, MemberDelta, error) {
		attrs := cur.Attributes
		if len(rest) > 0 {
			if attrs, err = applyPatch(ctx, work, cur.Attributes, rest); err != nil {
				return nil, MemberDelta{}, err
			}
		}
		d, err := g.memberDelta(ctx, org, id, memberOps, work)
		if err != nil {
			return nil, MemberDelta{}, err
		}
		return attrs, d, nil
	})
}

// memberDelta folds member operations into one delta, applied in order
// (RFC 7644 §3.5.2: a sequence of operations): an operation sees the
// members as the earlier ones left them. Filters other than "value eq"
// ([selectsMembers]) are evaluated on the stored members together, in one
// pass over the members, batch by batch, so that memory does not grow with
// the group (their cost is charged to work before the members are read, and
// the pass stops when the client has left), and on the members the earlier
// operations added. A replace whose filter selects no member is noTarget
// (RFC 7644 §3.5.2.3); for "value eq" filters the store says which of the
// ids named are members, in one read.
func (g *Groups) memberDelta(ctx context.Context, org, id string, ops []PatchOp, work *patchWork) (MemberDelta, error) {
	targets := make([]patchTarget, len(ops))
	var selecting []int
	var named []string // ids "value eq" filters of replaces name
	for i, op := range ops {
		t, err := work.target(op.Path)
		if err != nil {
			return MemberDelta{}, err
		}
		targets[i] = t
		if selectsMembers(op, t) {
			selecting = append(selecting, i)
		} else if replacesSelected(op, t) {
			valueEqualities(t.filter, &named)
		}
	}
	selected, err := g.selectMembers(ctx, org, id, targets, selecting, work)
	if err != nil {
		return MemberDelta{}, err
	}
	var stored map[string]bool
	if len(named) > 0 {
		if stored, err = g.store.MembersAmong(ctx, org, id, named); err != nil {
			return MemberDelta{}, err
		}
	}
	var d memberSet
	for i, op := range ops {
		t := targets[i]
		// The members op i's filter selects, as the earlier operations left
		// them: the stored ones they kept, and the ones they added.
		now := func() ([]string, error) {
			if !d.removeAll && len(d.remove) == 0 && len(d.add) == 0 {
				return selected[i], nil // no earlier change: the stored ones
			}
			out := slices.DeleteFunc(slices.Clone(selected[i]), func(m string) bool { return d.removeAll || d.remove[m] })
			if len(d.add) == 0 {
				return out, nil
			}
			was := make(map[string]bool, len(out))
			for _, m := range out {
				was[m] = true
			}
			for m := range d.add {
				if !was[m] && matchElement(map[string]any{"value": m}, t.filter) {
					out = append(out, m)
				}
			}
			return out, nil
		}
		if replacesSelected(op, t) {
			var ids []string
			matched := false
			if valueEqualities(t.filter, &ids) {
				matched = slices.ContainsFunc(ids, func(m string) bool { return d.has(m, stored[m]) })
			} else if onlyValue(t.filter) {
				sel, _ := now()
				matched = len(sel) > 0
			} else {
				matched = true // memberChange refuses the path
			}
			if !matched {
				if _, err := g.store.GetGroup(ctx, org, id, false); err != nil {
					return MemberDelta{}, err // no such group: 404, not "no member matches"
				}
				return MemberDelta{}, Errorf(NoTarget, "path %q: no member of the group matches the filter (RFC 7644 §3.5.2.3); add members with path \"members\"", op.Path)
			}
		}
		change, err := memberChange(g.rt, op, t, now)
		if err != nil {
			return MemberDelta{}, err
		}
		d.apply(change)
	}
	return d.delta(), nil
}

// replacesSelected reports whether op is a replace of the members its
// filter on members selects.
func replacesSelected(op PatchOp, t patchTarget) bool {
	return t.filter != nil && t.ext == "" && t.attr.Sub == nil && t.attr.Attr.Name() == "members" && strings.EqualFold(op.Op, "replace")
}

// selectMembers returns, for each operation of ops that selects among the
// members (their indexes in ops), the ids of the members its filter on
// targets selects, from one pass over the members. The cost, the members
// times the filters' comparisons, is charged to work from the group's
// member count before any member is read, and for members beyond that count
// (added meanwhile) before their batch is evaluated.
func (g *Groups) selectMembers(ctx context.Context, org, id string, targets []patchTarget, ops []int, work *patchWork) (map[int][]string, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	perMember := 0
	for _, i := range ops {
		perMember += targets[i].terms
	}
	counted, err := g.store.MemberCount(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if err := work.charge(counted*perMember, memberWorkHint); err != nil {
		return nil, err
	}
	selected := make(map[int][]string, len(ops))
	member := map[string]any{}
	seen := 0
	err = g.store.ScanMembers(ctx, org, id, func(batch []Ref) error {
		if err := ctx.Err(); err != nil {
			return err // the client left
		}
		if extra := seen + len(batch) - max(seen, counted); extra > 0 {
			if err := work.charge(extra*perMember, memberWorkHint); err != nil {
				return err
			}
		}
		seen += len(batch)
		for _, i := range ops {
			t := targets[i]
			for _, m := range batch {
				member["value"] = m.ID
				if matchElement(member, t.filter) {
					selected[i] = append(selected[i], m.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return selected, nil
}

// Delete deletes a group; its members lose it from their groups.
func (g *Groups) Delete(ctx context.Context, org, id string, ifMatch int64) error {
	err := g.store.DeleteGroup(ctx, org, id, ifMatch)
	if ifMatch != 0 && errors.Is(err, ErrVersionConflict) {
		return Errorf(PreconditionFailed, "group %q has changed: its version is no longer %s", id, ETag(ifMatch))
	}
	return err
}

func (g *Groups) update(ctx context.Context, org, id string, ifMatch int64, apply func(cur Resource) (map[string]any, MemberDelta, error)) (Resource, error) {
	var res Resource
	busy := Errorf(Conflict, "group %q is being changed by other requests at the same time; retry", id)
	err := retryWrites(ctx, busy, func() error {
		cur, err := g.store.GetGroup(ctx, org, id, false)
		if err != nil {
			return err
		}
		if ifMatch != 0 && cur.Version != ifMatch {
			return Errorf(PreconditionFailed, "group %q has changed: its version is %s, not %s", id, ETag(cur.Version), ETag(ifMatch))
		}
		attrs, d, err := apply(cur)
		if err != nil {
			return err
		}
		if err := g.check(attrs); err != nil {
			return err
		}
		if ifMatch == 0 && len(cur.Raw) > 0 {
			// Without If-Match the write needs only the document it was
			// computed from: member changes meanwhile (they bump the
			// version, never the document) do not make it lose.
			res, err = g.store.UpdateGroupIfDocument(ctx, org, Resource{ID: id, Attributes: attrs}, cur.Version, cur.Raw, d)
		} else {
			res, err = g.store.UpdateGroup(ctx, org, Resource{ID: id, Attributes: attrs}, cur.Version, d)
		}
		if ifMatch != 0 && errors.Is(err, ErrVersionConflict) {
			return Errorf(PreconditionFailed, "group %q changed while it was being updated", id)
		}
		return lostRace(err)
	})
	if err != nil {
		return Resource{}, err
	}
	return res, nil
}

// normalize checks a group body and splits off its members' ids.
func (g *Groups) normalize(raw map[string]any) (map[string]any, []string, error) {
	b, err := normalize(g.rt, raw)
	if err != nil {
		return nil, nil, err
	}
	var members []string
	if v, ok := b.attrs["members"]; ok {
		// Members are kept by the store, not in the document.
		delete(b.attrs, "members")
		if members, err = memberIDs(g.rt, v); err != nil {
			return nil, nil, err
		}
	}
	if err := g.check(b.attrs); err != nil {
		return nil, nil, err
	}
	return b.attrs, members, nil
}

func (g *Groups) check(attrs map[string]any) error {
	name, _ := attrs["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return Errorf(InvalidValue, "attribute \"displayName\" is required and must not be empty")
	}
	return nil
}

// memberSet folds a sequence of member changes into one delta.
type memberSet struct {
	removeAll   bool
	add, remove map[string]bool
}

func (s *memberSet) apply(d MemberDelta) {
	if s.add == nil {
		s.add, s.remove = map[string]bool{}, map[string]bool{}
	}
	if d.RemoveAll {
		s.removeAll = true
		clear(s.add)
		clear(s.remove)
	}
	for _, id := range d.Remove {
		delete(s.add, id)
		if !s.removeAll {
			s.remove[id] = true
		}
	}
	for _, id := range d.Add {
		delete(s.remove, id)
		s.add[id] = true
	}
}

// has reports whether m is a member after the changes folded so far;
// stored says whether it was one before them.
func (s *memberSet) has(m string, stored bool) bool {
	return s.add[m] || stored && !s.removeAll && !s.remove[m]
}

func (s *memberSet) delta() MemberDelta {
	d := MemberDelta{RemoveAll: s.removeAll}
	for id := range s.add {
		d.Add = append(d.Add, id)
	}
	for id := range s.remove {
		d.Remove = append(d.Remove, id)
	}
	return d
}
