package resources

import (
	"fmt"
	"slices"
	"strings"

	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/schemas"
)

// SplitMemberOps separates the operations on a Group's members, which the
// caller turns into a [MemberDelta] with [MemberChange], from the rest, for
// [ApplyPatch]. An operation is a member operation when its path names
// members (any case, with or without a value filter, which is not parsed
// here: the caller parses each path once, within its budget). An add or replace
// without a path whose value has a "members" member is split in two: that
// member becomes its own operation with path "members". For resource types
// without members every operation is in rest.
func SplitMemberOps(rt schemas.ResourceType, ops []PatchOp) (memberOps []PatchOp, rest []PatchOp, err error) {
	if a, err := resolve(rt, "members"); err != nil || !a.Core {
		return nil, slices.Clone(ops), nil
	}
	isMembers := func(path string) (bool, error) {
		// What a path names is found without parsing its value filter:
		// the caller parses each path once, within the request's budget.
		p, err := resolvePatchPath(rt, path)
		if err != nil {
			return false, err
		}
		return p.t.ext == "" && p.t.attr.Core && p.t.attr.Attr.Name() == "members", nil
	}
	for _, op := range ops {
		if op.Path != "" {
			ok, err := isMembers(op.Path)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				memberOps = append(memberOps, op)
			} else {
				rest = append(rest, op)
			}
			continue
		}
		m, isMap := op.Value.(map[string]any)
		if lop := strings.ToLower(op.Op); !isMap || (lop != "add" && lop != "replace") {
			rest = append(rest, op)
			continue
		}
		left := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			if ok, _ := isMembers(k); ok {
				memberOps = append(memberOps, PatchOp{Op: op.Op, Path: k, Value: m[k], HasValue: true})
			} else {
				left[k] = m[k]
			}
		}
		if len(left) == len(m) {
			rest = append(rest, op)
		} else if len(left) > 0 {
			rest = append(rest, PatchOp{Op: op.Op, Value: left, HasValue: true})
		}
	}
	return memberOps, rest, nil
}

// MemberChange translates one member operation of resource type rt (see
// [SplitMemberOps]) into a [MemberDelta]:
//
//   - add "members" with a list of {"value": id} (or bare ids): Add;
//   - remove "members" with a list: Remove those (Entra ID's legacy form);
//   - remove "members[value eq \"id\"]", or several joined by "or": Remove;
//   - remove "members" without a value: RemoveAll;
//   - replace "members" with a list: RemoveAll and Add;
//   - replace "members[value eq \"id\"]" with a member: Remove and Add.
//
// Other filters on value (ne, sw, not, ...) are evaluated against the current
// member ids, which current returns; it is only called then and may be nil
// otherwise. Filters on other sub-attributes are [InvalidPath]: members only
// carry ids. An id that is not a non-empty string is [InvalidValue].
//
// It evaluates a filter on every id current returns, unbounded: a group
// PATCH instead streams the members and charges the request's budget
// ([Groups.Patch]).
func MemberChange(rt schemas.ResourceType, op PatchOp, current func() ([]string, error)) (d MemberDelta, err error) {
	t, err := parsePatchPath(rt, op.Path)
	if err != nil {
		return d, err
	}
	var selected func() ([]string, error)
	if current != nil {
		selected = func() ([]string, error) {
			all, err := current()
			if err != nil {
				return nil, err
			}
			var ids []string
			for _, id := range all {
				if matchElement(map[string]any{"value": id}, t.filter) {
					ids = append(ids, id)
				}
			}
			return ids, nil
		}
	}
	return memberChange(rt, op, t, selected)
}

// memberChange is [MemberChange] for op, whose path resolved to t against rt.
// selected returns the ids of the current members t's filter selects, when
// it is a filter on value not made of "value eq" comparisons
// ([selectsMembers]).
func memberChange(rt schemas.ResourceType, op PatchOp, t patchTarget, selected func() ([]string, error)) (d MemberDelta, err error) {
	if t.ext != "" || t.attr.Attr.Name() != "members" {
		return d, Errorf(InvalidPath, "path %q does not name members", op.Path)
	}
	if t.attr.Sub != nil {
		return d, Errorf(InvalidPath, "path %q: members are added, removed or replaced whole, not by sub-attribute", op.Path)
	}
	switch strings.ToLower(op.Op) {
	case "add":
		if t.filter != nil {
			return d, Errorf(InvalidPath, "path %q: add members with path \"members\" and no filter", op.Path)
		}
		d.Add, err = memberIDs(rt, op.Value)
	case "remove":
		if t.filter == nil {
			if op.Value == nil {
				d.RemoveAll = true
				return d, nil
			}
			d.Remove, err = memberIDs(rt, op.Value)
			return d, err
		}
		d.Remove, err = filteredMembers(op.Path, t, selected)
	case "replace":
		if t.filter == nil {
			d.RemoveAll = true
			d.Add, err = memberIDs(rt, op.Value)
			return d, err
		}
		if d.Remove, err = filteredMembers(op.Path, t, selected); err != nil {
			return MemberDelta{}, err
		}
		if d.Add, err = memberIDs(rt, op.Value); err != nil {
			return MemberDelta{}, err
		}
		added := make(map[string]bool, len(d.Add))
		for _, id := range d.Add {
			added[id] = true
		}
		d.Remove = slices.DeleteFunc(d.Remove, func(id string) bool { return added[id] })
		if len(d.Remove) == 0 {
			d.Remove = nil
		}
	default:
		return d, Errorf(InvalidSyntax, "unknown PATCH op %q: expected add, replace or remove", op.Op)
	}
	if err != nil {
		return MemberDelta{}, err
	}
	return d, nil
}

// memberIDs returns the ids of a members value: a list (or one) of
// {"value": id, ...} objects or bare id strings, lower-cased, without
// duplicates. Members
// are users: a member of another type is [InvalidValue] (nested groups are
// not supported), and so is an unknown sub-attribute (see [memberID]).
func memberIDs(rt schemas.ResourceType, v any) ([]string, error) {
	var ids []string
	seen := map[string]bool{} // a members list may hold tens of thousands
	for _, e := range elements(v) {
		id, ok := e.(string)
		if m, isMap := e.(map[string]any); isMap {
			var err error
			if id, ok, err = memberID(rt, m); err != nil {
				return nil, err
			}
		}
		if !ok || strings.TrimSpace(id) == "" {
			return nil, Errorf(InvalidValue, "members: each member needs a non-empty \"value\" holding a user id, got %s", describe(e, false))
		}
		if err := checkNUL("members.value", id); err != nil {
			return nil, err
		}
		id = memberKey(id)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// memberID returns the "value" of a member object, ok false when it is
// missing or not a non-empty string, after checking the other
// sub-attributes (named in any case). Those accepted are the ones clients
// send: what a GET shows of each member (value, $ref, type, display), which
// a client may send back in a PUT (RFC 7644 §3.5.1); Entra ID's "$ref": null
// (testdata/replay/entra-id.json, "add members with $ref null"); and Okta's
// "display", the member's userName (testdata/replay/okta.json, "add members
// in a batch"). Members are users and nested groups are not supported, so
// "type" must be "User" and "$ref", when not null, the location of the user
// "value" names. "display" may be any string, unchecked: checking it would
// mean reading every member's user, and it is never stored (a member's
// display is always its user's).
func memberID(rt schemas.ResourceType, m map[string]any) (id string, ok bool, err error) {
	x, _, err := member(m, "value", "members")
	if err != nil {
		return "", false, err
	}
	if id, ok = x.(string); !ok || strings.TrimSpace(id) == "" {
		return "", false, nil
	}
	members, _ := rt.Lookup("members")
	seen := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		sub, known := schemas.Find(members.Attr.SubAttributes(), k)
		if !known {
			return "", false, Errorf(InvalidValue, "attribute \"members\": unknown sub-attribute %q", k)
		}
		if prev, dup := seen[sub.Name()]; dup {
			return "", false, Errorf(InvalidValue, "attribute \"members\": sub-attribute %q given twice, as %q and %q", sub.Name(), prev, k)
		}
		seen[sub.Name()] = k
		v := m[k]
		if v == nil || sub.Name() == "value" {
			continue
		}
		s, isString := v.(string)
		if !isString {
			return "", false, Errorf(InvalidValue, "attribute \"members.%s\": expected a string, got %s", sub.Name(), describe(v, false))
		}
		switch sub.Name() {
		case "type":
			if strings.EqualFold(s, "Group") {
				return "", false, NotUser(id)
			}
			if !strings.EqualFold(s, "User") {
				return "", false, Errorf(InvalidValue, "attribute \"members.type\" must be \"User\" (members must be users), got %s", quoteShort(s))
			}
		case "$ref":
			if strings.Contains(strings.ToLower(s), "/groups/") {
				return "", false, NotUser(id)
			}
			if s != "Users/"+id && !strings.HasSuffix(s, "/Users/"+id) {
				return "", false, Errorf(InvalidValue, "attribute \"members.$ref\": %s is not the location of the user %q that \"value\" names; leave \"$ref\" out", quoteShort(s), id)
			}
		}
	}
	return id, true, nil
}

// NotUser is the error of a member that is a group: groups cannot be
// members.
func NotUser(id string) error {
	return Errorf(InvalidValue, "members must be users: member %q is a group, and groups cannot be members (nested groups are not supported)", id)
}

// filteredMembers returns the member ids a filter on members selects: the ids
// of "value eq" comparisons joined by "or" directly, else those selected
// returns, the current members the filter selects.
func filteredMembers(path string, t patchTarget, selected func() ([]string, error)) ([]string, error) {
	var ids []string
	if valueEqualities(t.filter, &ids) {
		return ids, nil
	}
	if !onlyValue(t.filter) {
		return nil, Errorf(InvalidPath, "path %q: members: only filters on value are supported", path)
	}
	if selected == nil {
		return nil, Errorf(InvalidPath, "path %q: members: only \"value eq\" filters are supported here", path)
	}
	ids, err := selected()
	if err != nil {
		return nil, fmt.Errorf("members of filter %q: %w", path, err)
	}
	return ids, nil
}

// selectsMembers reports whether the member operation op, whose path
// resolved to t, selects among the group's current members: a remove or
// replace whose filter on value is not made of "value eq" comparisons,
// which cost nothing whatever the group's size.
func selectsMembers(op PatchOp, t patchTarget) bool {
	if t.filter == nil || t.ext != "" || t.attr.Sub != nil {
		return false
	}
	if lop := strings.ToLower(op.Op); lop != "remove" && lop != "replace" {
		return false
	}
	var ids []string
	return !valueEqualities(t.filter, &ids) && onlyValue(t.filter)
}

// memberKey is a member id as stored: members.value is not caseExact (RFC
// 7643 §8.7.1, and /Schemas says so), and ids are lower-case UUIDs, so an
// id in any case names the same member.
func memberKey(id string) string { return strings.ToLower(id) }

// valueEqualities appends to ids the operands of a filter made of
// `value eq "id"` joined by "or" (as member keys), and reports whether it
// is one.
func valueEqualities(f Filter, ids *[]string) bool {
	switch e := f.(type) {
	case *Comparison:
		id, ok := e.Value.(string)
		if e.relativeName() != "value" || e.Op != filter.EQ || !ok || id == "" {
			return false
		}
		id = memberKey(id)
		if !slices.Contains(*ids, id) {
			*ids = append(*ids, id)
		}
		return true
	case *Logical:
		return e.Op == filter.OR && valueEqualities(e.Left, ids) && valueEqualities(e.Right, ids)
	}
	return false
}

// onlyValue reports whether a value filter compares only the "value" sub-attribute.
func onlyValue(f Filter) bool {
	switch e := f.(type) {
	case *Comparison:
		return e.relativeName() == "value"
	case *Logical:
		return onlyValue(e.Left) && onlyValue(e.Right)
	case *Not:
		return onlyValue(e.Filter)
	}
	return false
}
