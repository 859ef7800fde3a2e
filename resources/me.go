package resources

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/scimd/scimd/schemas"
)

// Self-service: what a customer, authenticated with their own email and
// password, may do to their own account through /Me (RFC 7644 §3.11).
//
// Attributes fall in three classes:
//   - customer-editable ([CustomerEditable]): their name, how they are
//     addressed and reached, and their password;
//   - attributes nobody may change (readOnly or immutable, RFC 7643 §2.2:
//     userName, groups, accountState, passwordSetup): the same 400 mutability
//     an administrator gets;
//   - everything else (active, emails, externalId, userType, roles, the
//     enterprise extension, ...): an administrator's to change, so a customer's
//     attempt is [Forbidden], naming the attribute.

// invalidCredentials is the one answer to every failed sign-in, so that a
// client cannot tell an unknown email from a wrong password or an account that
// may not sign in.
func invalidCredentials() error { return Errorf(Unauthorized, "invalid email or password") }

// passwordChangeFirst is the answer to a customer with a temporary password
// who tries anything but changing it.
func passwordChangeFirst() error {
	return Errorf(Forbidden, "change your temporary password first: PATCH /Me with a new password")
}

// dummyHash is what a password is verified against when the account has no
// hash (unknown email, no password set), so that every sign-in attempt costs
// one argon2id run and takes about as long: no timing oracle for which emails
// have accounts. It is built once, with the current parameters.
var dummyHash = sync.OnceValue(func() string { return HashPassword(Secret("scimd: no such account")) })

// CustomerEditable reports whether a customer may change the top-level core
// User attribute name (canonical spelling) on their own account: name,
// displayName, nickName, preferredLanguage, locale, timezone, phoneNumbers,
// addresses and photos (RFC 7643 §4.1). The password is changed through the
// same requests but is not a stored attribute.
func CustomerEditable(name string) bool {
	switch name {
	case "name", "displayName", "nickName", "preferredLanguage", "locale", "timezone",
		"phoneNumbers", "addresses", "photos":
		return true
	}
	return false
}

// Authenticate returns the user of org whose userName is userName (ignoring
// case) if password is theirs and the account may sign in: it has a password,
// its "active" is true (not false, not unassigned), and its accountState is
// active or passwordChangeRequired (not waiting for an invitation to be
// accepted or a registration to be confirmed). Every failure is the same
// [Unauthorized] error, and every attempt verifies one argon2id hash, so
// neither the answer nor its timing tells whether the email has an account.
// The password is never logged or returned.
func (u *Users) Authenticate(ctx context.Context, org, userName string, password Secret) (Resource, error) {
	res, found, err := u.findByUserName(ctx, org, userName)
	if err != nil {
		return Resource{}, err
	}
	var hash string
	if found {
		if hash, err = u.store.PasswordHash(ctx, org, res.ID); err != nil {
			return Resource{}, err
		}
	}
	verifyAgainst := hash
	if verifyAgainst == "" {
		verifyAgainst = dummyHash()
	}
	ok := VerifyPassword(verifyAgainst, password) // always exactly one argon2id run
	if !found || hash == "" || !ok || !maySignIn(res) {
		return Resource{}, invalidCredentials()
	}
	return res, nil
}

// findByUserName looks a user up through the userName index: a userName eq
// filter is answered from the uniqueness hash, ignoring case.
func (u *Users) findByUserName(ctx context.Context, org, userName string) (Resource, bool, error) {
	userName = strings.TrimSpace(userName)
	if userName == "" {
		return Resource{}, false, nil
	}
	// A filter string literal is a JSON string (RFC 7644 §3.4.2.2).
	var lit bytes.Buffer
	enc := json.NewEncoder(&lit)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(userName); err != nil {
		return Resource{}, false, nil
	}
	expr, err := ParseFilter(u.rt, "userName eq "+strings.TrimSpace(lit.String()), "")
	if err != nil {
		return Resource{}, false, nil // no userName anyone could have
	}
	page, err := u.store.ListUsers(ctx, org, Query{Filter: expr, StartIndex: 1, Count: 2})
	if err != nil {
		return Resource{}, false, err
	}
	if len(page.Resources) != 1 {
		return Resource{}, false, nil
	}
	return page.Resources[0], true, nil
}

// maySignIn reports whether an account's state lets its customer sign in:
// only an active account, or one with a temporary password to change. Every
// other state (waiting for an invitation to be accepted, a self-registration
// not yet confirmed, and any state added later) is refused, so that a new
// state is closed until someone decides otherwise. Likewise "active" must be
// true: an account whose "active" was removed (unassigned) is disabled.
func maySignIn(r Resource) bool {
	if !enabled(r) {
		return false
	}
	switch accountState(r) {
	case schemas.AccountStateActive, schemas.AccountStatePasswordChangeRequired:
		return true
	}
	return false
}

// enabled reports whether an account's "active" is true; false or
// unassigned is a disabled account.
func enabled(r Resource) bool {
	active, _ := r.Attributes["active"].(bool)
	return active
}

// accountState is the account's onboarding state: its accountState, or
// while it is disabled the state it returns to (see [AccountState]).
func accountState(r Resource) string {
	return onboardingState(subAttrs(r.Attributes, schemas.CustomerUserURN, false))
}

// onboardingState is accountState read from the customer extension ext.
func onboardingState(ext map[string]any) string {
	s, _ := ext["accountState"].(string)
	if s == schemas.AccountStateDisabled {
		s, _ = ext["stateWhenEnabled"].(string)
	}
	return s
}

// CheckPasswordChanged returns [Forbidden] while self, an authenticated
// customer, still has the temporary password an administrator gave them:
// until they change it, changing it is all they may do.
func CheckPasswordChanged(self Resource) error {
	if accountState(self) == schemas.AccountStatePasswordChangeRequired {
		return passwordChangeFirst()
	}
	return nil
}

// PatchSelf applies PATCH operations (RFC 7644 §3.5.2) sent by the customer id
// to their own account. Before any is applied, an operation whose path has a
// value filter on an attribute outside [CustomerEditable] is refused
// ([Forbidden], see [checkSelfPaths]). The operations are applied as
// for an administrator, within the same filter budget, then the result is
// refused with [Forbidden] if any attribute outside [CustomerEditable]
// differs from before. A "password" operation changes the
// password: it must pass [CheckPasswordPolicy] and differ from the current
// one, and the account becomes active (the Basic credentials of the request
// confirmed the current password). While the account has a temporary password,
// an operation set that does not change it is [Forbidden]. ifMatch, when not
// 0, is the version the client expects to change.
func (u *Users) PatchSelf(ctx context.Context, org, id string, ops []PatchOp, ifMatch int64) (Resource, error) {
	ops, err := dropEchoedID(ops, id)
	if err != nil {
		return Resource{}, err
	}
	rt, err := u.TypeFor(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	if err := checkSelfPaths(rt, ops); err != nil {
		return Resource{}, err
	}
	work := newPatchWork(ctx, rt, u.filterWork)
	return u.update(ctx, org, id, ifMatch, func(rt schemas.ResourceType, cur Resource) (body, error) {
		b, err := u.patched(ctx, work.use(rt), cur, ops)
		if err != nil {
			return body{}, err
		}
		b.self = true
		return b, u.checkSelfWrite(ctx, org, cur, b)
	})
}

// checkSelfPaths is the customer's permission check on the paths of ops (on
// a user of type rt), made before any is applied: a path (or, without one,
// a member of the value) with a value filter on an attribute a customer may
// not change is [Forbidden], its filter neither parsed nor evaluated. Which attribute a
// path names is found without parsing its filter. A path without a filter
// is left to [Users.checkSelfWrite], which accepts an operation that changes
// nothing (a client sending back what it read); readOnly and immutable
// attributes, and paths that do not resolve, are left to the rules every
// writer follows, so that a customer gets an administrator's answer.
func checkSelfPaths(rt schemas.ResourceType, ops []PatchOp) error {
	for _, op := range ops {
		if op.Path != "" {
			if err := checkSelfPath(rt, op.Path, op.Value); err != nil {
				return err
			}
			continue
		}
		m, _ := op.Value.(map[string]any)
		for _, k := range sortedKeys(m) {
			if err := checkSelfPath(rt, k, m[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSelfPath is [checkSelfPaths] for one path of rt and the value
// set there: an extension's object names a path per member.
func checkSelfPath(rt schemas.ResourceType, path string, v any) error {
	p, err := resolvePatchPath(rt, path)
	if err != nil {
		return nil // refused as for an administrator, when applied
	}
	if p.t.ext != "" {
		m, _ := v.(map[string]any)
		for _, k := range sortedKeys(m) {
			if err := checkSelfPath(rt, p.t.ext+":"+k, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	a := schemas.Attribute{URN: p.t.attr.URN, Core: p.t.attr.Core, Attr: p.t.attr.Attr}
	if !p.filtered || a.Core && CustomerEditable(a.Attr.Name()) {
		return nil
	}
	if m := schemas.MutabilityOf(a.Attr); m == schemas.ReadOnly || m == schemas.Immutable {
		return nil
	}
	return Errorf(Forbidden, "customers cannot change attribute %q: ask an administrator of your organization", a.FullName())
}

// ReplaceSelf replaces the customer-editable attributes of the customer id's
// own account from a PUT body (RFC 7644 §3.5.1). Editable attributes the body
// leaves out are cleared, as a PUT does; every other attribute keeps its stored
// value when left out, and a body that gives one a different value is refused
// as [PatchSelf] refuses it. A "password" in the body changes the password as
// in [PatchSelf]. ifMatch, when not 0, is the version the client expects to
// replace.
func (u *Users) ReplaceSelf(ctx context.Context, org, id string, raw map[string]any, ifMatch int64) (Resource, error) {
	sent, err := normalize(u.rt, raw)
	if err != nil {
		return Resource{}, err
	}
	return u.update(ctx, org, id, ifMatch, func(_ schemas.ResourceType, cur Resource) (body, error) {
		attrs := cloneMap(cur.Attributes)
		for k, v := range sent.attrs {
			if CustomerEditable(k) {
				continue
			}
			if _, isExt := u.rt.Extension(k); isExt {
				ext := subAttrs(attrs, k, true)
				m, _ := v.(map[string]any) // normalize made it an object
				for sk, sv := range m {
					ext[sk] = deepCopy(sv)
				}
				continue
			}
			attrs[k] = deepCopy(v)
		}
		for _, a := range u.rt.Schema.Attributes {
			if k := a.Name(); CustomerEditable(k) {
				if v, ok := sent.attrs[k]; ok {
					attrs[k] = deepCopy(v)
				} else {
					delete(attrs, k)
				}
			}
		}
		b := body{attrs: attrs, password: sent.password, self: true}
		return b, u.checkSelfWrite(ctx, org, cur, b)
	})
}

// checkSelfWrite enforces the self-service rules on next, a customer's write
// to their own account cur.
func (u *Users) checkSelfWrite(ctx context.Context, org string, cur Resource, next body) error {
	if next.password == nil && accountState(cur) == schemas.AccountStatePasswordChangeRequired {
		return passwordChangeFirst()
	}
	if name, changed := u.protectedChange(cur.Attributes, next.attrs); changed {
		return Errorf(Forbidden, "customers cannot change attribute %q: ask an administrator of your organization", name)
	}
	if next.password != nil {
		hash, err := u.store.PasswordHash(ctx, org, cur.ID)
		if err != nil {
			return err
		}
		if hash != "" && VerifyPassword(hash, *next.password) {
			return Errorf(InvalidValue, "attribute \"password\": must differ from your current password")
		}
	}
	return nil
}

// protectedChange returns the full name of the first attribute, in a stable
// order, that differs between before and after and that a customer may not
// change. Immutable attributes are left to the rules every writer follows
// (400 mutability), so that a customer gets the same answer an administrator
// would.
func (u *Users) protectedChange(before, after map[string]any) (string, bool) {
	for _, k := range unionKeys(before, after) {
		if CustomerEditable(k) {
			continue
		}
		if ext, isExt := u.rt.Extension(k); isExt {
			b, _ := before[k].(map[string]any)
			a, _ := after[k].(map[string]any)
			for _, sk := range unionKeys(b, a) {
				if u.immutable(ext.ID+":"+sk) || reflect.DeepEqual(b[sk], a[sk]) {
					continue
				}
				return ext.ID + ":" + sk, true
			}
			continue
		}
		if u.immutable(k) || reflect.DeepEqual(before[k], after[k]) {
			continue
		}
		return k, true
	}
	return "", false
}

// immutable reports whether the attribute at path is immutable (RFC 7643 §2.2).
func (u *Users) immutable(path string) bool {
	a, ok := u.rt.Lookup(path)
	return ok && schemas.MutabilityOf(a.Attr) == schemas.Immutable
}
