package resources

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// Users is the customer-account service: the rules of /Users.
type Users struct {
	store UserStore
	rt    schemas.ResourceType
	// onboarding, when set, sends invitations (see [Users.WithOnboarding]).
	onboarding *Onboarding
	// custom gives each organization its custom attributes (extensions.go)
	// when the store keeps them.
	custom *customTypes
	// filterWork bounds one PATCH's filter work: [MaxFilterWork], lowered
	// by tests.
	filterWork int
}

// NewUsers returns the Users service on store. When store is also an
// [ExtensionStore], organizations may define custom attributes.
func NewUsers(store UserStore) *Users {
	u := &Users{store: store, rt: schemas.Users(), filterWork: MaxFilterWork}
	if es, ok := store.(ExtensionStore); ok {
		u.custom = &customTypes{store: es}
	}
	return u
}

// ResourceType returns the built-in User resource type, without any
// organization's custom attributes (see [Users.TypeFor]).
func (u *Users) ResourceType() schemas.ResourceType { return u.rt }

// Create creates a customer from a POST body (RFC 7644 §3.3). A customer
// with passwordSetup "invite", or without passwordSetup in an organization
// (or from a token) whose onboarding policy is "invite", is sent an
// invitation (see [Users.WithOnboarding]); when its email cannot be sent the
// customer is still created, in accountState "invitationNotDelivered", and an
// administrator resends it ([Users.ResendInvitation]).
func (u *Users) Create(ctx context.Context, org string, raw map[string]any) (Resource, error) {
	settings, err := u.recentOrgSettings(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	rules := userRules{format: settings.UserNameRule(), onboarding: cmp.Or(onboardingOverride(ctx), settings.OnboardingPolicy()), whole: true}
	var res Resource
	// A write checked against custom attributes that changed meanwhile (a
	// schema edit, a substringSearch change and the end of its rebuild) is
	// refused by the store: it is checked again, with backoff, within the
	// bounds of any write that loses a race.
	busy := Errorf(Unavailable, "the organization's custom attributes or search settings kept changing while the customer was being created; nothing was written: retry")
	err = retryWrites(ctx, busy, func() error {
		var err error
		if rules.rt, err = u.TypeFor(ctx, org); err != nil {
			return err
		}
		// normalize neither changes raw nor keeps its maps or arrays
		// (TestNormalizeLeavesRaw): a retry normalizes raw again.
		b, err := normalize(rules.rt, raw)
		if err != nil {
			return err
		}
		w, err := u.prepare(b, nil, rules)
		if err != nil {
			return err
		}
		res, err = u.store.CreateUser(ctx, org, Resource{Attributes: b.attrs}, w)
		if errors.Is(err, ErrSchemaChanged) {
			u.custom.forget(org) // checked against definitions that changed: check again
			return errRetry
		}
		return err
	})
	if err != nil {
		return Resource{}, err
	}
	if u.onboarding == nil || !invited(res) {
		return res, err
	}
	return u.inviteNew(ctx, org, res, rules.format), nil
}

// inviteNew sends the first invitation of res, a customer just invited (at
// creation, or by passwordSetup set later). The customer exists whatever
// happens: when no invitation could be issued it is marked
// invitationNotDelivered, for an administrator to resend.
func (u *Users) inviteNew(ctx context.Context, org string, res Resource, format string) Resource {
	if held, _ := ctx.Value(heldKey{}).(*HeldInvitations); held != nil {
		held.add(func(ctx context.Context) { u.inviteNew(ctx, org, res, format) })
		return res
	}
	sent, _, err := u.invite(ctx, org, res, mailAddress(res, format))
	if err != nil {
		u.onboarding.Log.ErrorContext(ctx, "invitation not issued", "org", org, "resource_id", res.ID, "err", err)
		if marked, err := u.setAccountState(ctx, org, res, schemas.AccountStateInvitationNotDelivered); err == nil {
			return marked
		}
		return res
	}
	return sent
}

// Get returns a customer for display: Attributes may be nil, with Raw set
// (see [Resource.DecodeAttributes]).
func (u *Users) Get(ctx context.Context, org, id string) (Resource, error) {
	return u.store.ReadUser(ctx, org, id)
}

// List runs a query over the organization's customers. With q.RawOnly the
// results are for display only (see [Query]).
func (u *Users) List(ctx context.Context, org string, q Query) (Page, error) {
	return u.store.ListUsers(ctx, org, q)
}

// Replace replaces a customer from a PUT body (RFC 7644 §3.5.1): attributes it
// leaves out are cleared, except "active" and the immutable passwordSetup,
// which keep their values. ifMatch, when not 0, is the version the client
// expects to replace.
func (u *Users) Replace(ctx context.Context, org, id string, raw map[string]any, ifMatch int64) (Resource, error) {
	return u.update(ctx, org, id, ifMatch, func(rt schemas.ResourceType, cur Resource) (body, error) {
		b, err := normalize(rt, raw)
		if err != nil {
			return body{}, err
		}
		next := body{attrs: b.attrs, password: b.password, replace: true}
		// "active" left out (or null) keeps its value: RFC 7644 §3.5.1 lets
		// the service provider treat an omitted attribute as not asserted,
		// and a PUT from a system that does not manage it (an HR system)
		// must not re-enable a disabled customer.
		if v, ok := cur.Attributes["active"]; ok {
			if _, sent := next.attrs["active"]; !sent {
				next.attrs["active"] = v
			}
		}
		// An immutable attribute left out of a PUT keeps its value.
		if ps, ok := subAttrs(cur.Attributes, schemas.CustomerUserURN, false)["passwordSetup"]; ok {
			ext := subAttrs(next.attrs, schemas.CustomerUserURN, true)
			if _, sent := ext["passwordSetup"]; !sent {
				ext["passwordSetup"] = ps
			}
		}
		return next, nil
	})
}

// Patch applies PATCH operations to a customer (RFC 7644 §3.5.2). The
// value filters of their paths share one budget of [MaxFilterWork]
// comparisons, retries of the write included ([TooMany] past it).
func (u *Users) Patch(ctx context.Context, org, id string, ops []PatchOp, ifMatch int64) (Resource, error) {
	ops, err := dropEchoedID(ops, id)
	if err != nil {
		return Resource{}, err
	}
	work := newPatchWork(ctx, u.rt, u.filterWork)
	return u.update(ctx, org, id, ifMatch, func(rt schemas.ResourceType, cur Resource) (body, error) {
		return u.patched(ctx, work.use(rt), cur, ops)
	})
}

// patched applies ops to cur's attributes, charging work (which knows the
// resource type); a "password" they set is taken out of the attributes into
// the body's password.
func (u *Users) patched(ctx context.Context, work *patchWork, cur Resource, ops []PatchOp) (body, error) {
	attrs, err := applyPatch(ctx, work, cur.Attributes, ops)
	if err != nil {
		return body{}, err
	}
	b := body{attrs: attrs}
	if pw, ok := attrs["password"]; ok {
		delete(attrs, "password")
		s, _ := pw.(string)
		secret := Secret(s)
		b.password = &secret
	}
	return b, nil
}

// Delete deletes a customer for good: it leaves every group and index.
func (u *Users) Delete(ctx context.Context, org, id string, ifMatch int64) error {
	if ifMatch == 0 {
		return u.store.DeleteUser(ctx, org, id, 0)
	}
	err := u.store.DeleteUser(ctx, org, id, ifMatch)
	if errors.Is(err, ErrVersionConflict) {
		return Errorf(PreconditionFailed, "user %q has changed: its version is no longer %s", id, ETag(ifMatch))
	}
	return err
}

// update is the read-apply-write loop shared by PUT and PATCH: it retries when
// another writer got in between, unless the client pinned a version. A write
// that sets passwordSetup "invite" on a customer without a password sends
// the invitation.
func (u *Users) update(ctx context.Context, org, id string, ifMatch int64, apply func(rt schemas.ResourceType, cur Resource) (body, error)) (Resource, error) {
	var res Resource
	var started bool // the write began an invitation
	var rules userRules
	err := retryWrites(ctx, busyUser(id), func() error {
		cur, err := u.store.GetUser(ctx, org, id)
		if err != nil {
			return err
		}
		if ifMatch != 0 && cur.Version != ifMatch {
			return Errorf(PreconditionFailed, "user %q has changed: its version is %s, not %s", id, ETag(cur.Version), ETag(ifMatch))
		}
		rt, err := u.TypeFor(ctx, org)
		if err != nil {
			return err
		}
		next, err := apply(rt, cur)
		if err != nil {
			return err
		}
		if rules, err = u.updateRules(ctx, org, cur, next); err != nil {
			return err
		}
		rules.rt, rules.whole = rt, next.replace
		w, err := u.prepare(next, &cur, rules)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(next.attrs)
		if err != nil {
			return fmt.Errorf("encode user %s: %w", id, err)
		}
		if w.PasswordHash == "" && bytes.Equal(doc, cur.Raw) {
			// Nothing changes: identity providers resend unchanged values on
			// every sync. No write, so the version, lastModified and the
			// audit trail stay as they are (RFC 7644 §3.14: the version
			// changes when the resource does). Both documents are
			// encoding/json's encoding of a map, keys sorted: equal bytes
			// are equal attributes.
			res = cur
			return nil
		}
		wctx := ctx
		if next.self && w.PasswordHash != "" {
			wctx = WithAction(ctx, ActionSetPassword) // the audit trail tells a customer's new password from an edit
		}
		res, err = u.store.ReplaceUser(wctx, org, Resource{ID: id, Attributes: next.attrs}, cur.Version, w)
		if errors.Is(err, ErrSchemaChanged) {
			u.custom.forget(org) // checked against definitions that changed: check again
			return errRetry
		}
		if ifMatch != 0 && errors.Is(err, ErrVersionConflict) {
			return Errorf(PreconditionFailed, "user %q changed while it was being updated", id)
		}
		started = err == nil && !invited(cur) && invited(res)
		return lostRace(err)
	})
	if err != nil {
		return Resource{}, err
	}
	if started && u.onboarding != nil {
		return u.inviteNew(ctx, org, res, rules.format), nil
	}
	return res, nil
}

// userRules are what a write of a customer follows besides the schema: the
// organization's userNameFormat, the onboarding policy for a customer
// created without passwordSetup, and, when a write sets passwordSetup on a
// customer that had none, whether it has a password already.
type userRules struct {
	format, onboarding string
	hasPassword        bool
	// rt is the organization's User resource type, custom attributes
	// included.
	rt schemas.ResourceType
	// whole: the write is a whole resource a client sent (POST, PUT), which
	// must hold the required custom attributes.
	whole bool
}

// updateRules reads what prepare needs to judge next, a write of cur: only
// a write that sets passwordSetup where there was none costs the reads.
func (u *Users) updateRules(ctx context.Context, org string, cur Resource, next body) (userRules, error) {
	old, _ := subAttrs(cur.Attributes, schemas.CustomerUserURN, false)["passwordSetup"].(string)
	if old != "" || requestedSetup(next.attrs) == "" {
		return userRules{}, nil
	}
	settings, err := u.orgSettings(ctx, org)
	if err != nil {
		return userRules{}, err
	}
	hash, err := u.store.PasswordHash(ctx, org, cur.ID)
	if err != nil {
		return userRules{}, err
	}
	return userRules{format: settings.UserNameRule(), hasPassword: hash != ""}, nil
}

// requestedSetup is the passwordSetup a body asks for: its own, or "invite"
// for Asgardeo's askPassword true.
func requestedSetup(attrs map[string]any) string {
	if setup, _ := subAttrs(attrs, schemas.CustomerUserURN, false)["passwordSetup"].(string); setup != "" {
		return setup
	}
	if subAttrs(attrs, schemas.WSO2URN, false)["askPassword"] == true {
		return schemas.PasswordSetupInvite
	}
	return ""
}

// prepare enforces the customer rules on a user about to be written: userName
// is a valid email and immutable, the onboarding method and password agree,
// and the account state follows. cur is nil on create.
// MaxValues bounds the values of a user's multi-valued attribute (emails,
// phoneNumbers, addresses, ...): every value may be an index entry, and no
// customer has a hundred email addresses. A group's members are not bounded.
// [ApplyPatch] fails the operation that exceeds it.
const MaxValues = 100

func (u *Users) prepare(b body, cur *Resource, rules userRules) (UserWrite, error) {
	given := stringAttr(b.attrs, "userName")
	name := strings.TrimSpace(given)
	// isEmail: name is known to pass emailProblem (checkUserName checked
	// it), not to be checked again below.
	isEmail := false
	if cur != nil {
		old := stringAttr(cur.Attributes, "userName")
		if FoldCase(name) != FoldCase(old) {
			return UserWrite{}, Errorf(Mutability, "attribute \"userName\" is immutable: it cannot be changed once the user is created (it is %q: send that value; its letter case does not matter)", old)
		}
		name = old // identity providers resend it in any case
	} else if err := checkUserName(name, rules.format); err != nil {
		return UserWrite{}, err
	} else {
		isEmail = rules.format != schemas.UserNameFormatAny
	}
	if _, ok := b.attrs["userName"].(string); !ok || name != given {
		b.attrs["userName"] = name
	}
	var w UserWrite
	if err := checkCustom(rules.rt, b, cur); err != nil {
		return UserWrite{}, err
	}
	if rules.whole {
		if err := checkRequired(rules.rt, b.attrs); err != nil {
			return UserWrite{}, err
		}
	} else if cur != nil {
		if err := keepRequired(rules.rt, cur.Attributes, b.attrs); err != nil {
			return UserWrite{}, err
		}
	}
	w.Custom, w.Typed = rules.rt.Custom, true
	for k, v := range b.attrs {
		if list, ok := v.([]any); ok && len(list) > MaxValues {
			return UserWrite{}, Errorf(InvalidValue, "attribute %q has %d values, more than the %d a customer may have", k, len(list), MaxValues)
		}
	}
	if cur == nil {
		// Defaults of a new customer only: an update that removes one of
		// these keeps it removed, and one that leaves "active" out never
		// re-enables a disabled customer. A login that is not an address
		// (userNameFormat "any") is no email.
		if _, ok := b.attrs["emails"]; !ok && (isEmail || emailProblem(name) == "") {
			// b.attrs["userName"] holds name: its value, not name boxed again.
			b.attrs["emails"] = []any{map[string]any{"value": b.attrs["userName"], "type": "work", "primary": true}}
		}
		if _, ok := b.attrs["userType"]; !ok {
			b.attrs["userType"] = "Customer"
		}
		if _, ok := b.attrs["active"]; !ok {
			b.attrs["active"] = true
		}
	}

	setup := requestedSetup(b.attrs) // Asgardeo/WSO2 clients ask for an invitation with askPassword
	delete(b.attrs, schemas.WSO2URN)

	ext := subAttrs(b.attrs, schemas.CustomerUserURN, true)
	var oldExt map[string]any
	// onboard is a write that chooses how the customer gets a password: a
	// creation, or passwordSetup set on a customer that had none.
	onboard := cur == nil
	if cur != nil {
		oldExt = subAttrs(cur.Attributes, schemas.CustomerUserURN, false)
		old, _ := oldExt["passwordSetup"].(string)
		switch {
		case old != "" && setup != old:
			return UserWrite{}, Errorf(Mutability, "attribute %q is immutable: it is %q and cannot be changed", schemas.CustomerUserURN+":passwordSetup", old)
		case old == "" && setup != "" && rules.hasPassword:
			return UserWrite{}, Errorf(Mutability, "attribute %q cannot be set on user %q: the customer has a password already (to send them a link to choose a new one, POST /Users/%s/resendInvitation; to give them a temporary one, send \"password\")",
				schemas.CustomerUserURN+":passwordSetup", cur.ID, cur.ID)
		case old == "" && setup != "":
			onboard = true
		}
	}
	if b.password != nil {
		// The account's names as this write leaves them: the policy the
		// customer pages and the console apply (AccountPasswordProblems).
		if err := CheckPasswordPolicy(*b.password, name, accountNames(Resource{Attributes: b.attrs})...); err != nil {
			return UserWrite{}, err
		}
	}
	state := onboardingState(oldExt)
	// An invitation starts undelivered: the write that stores the customer
	// comes before the email, and only its sending makes the state
	// pendingInvitation (see Users.invite). A stop in between leaves the
	// truth, for an administrator to resend.
	undelivered := schemas.AccountStateInvitationNotDelivered
	switch setup {
	case schemas.PasswordSetupInvite:
		// A customer who accepted their invitation may change their password.
		if b.password != nil && !b.self {
			return UserWrite{}, Errorf(InvalidValue, "attribute \"password\" must not be sent with passwordSetup %q: the customer sets their own password from the invitation", setup)
		}
		if onboard {
			if mailAddress(Resource{Attributes: b.attrs}, rules.format) == "" {
				id := ""
				if cur != nil {
					id = cur.ID
				}
				return UserWrite{}, errNoAddress(id)
			}
			state = undelivered
		}
	case schemas.PasswordSetupTemporaryPassword:
		if onboard && b.password == nil {
			return UserWrite{}, Errorf(InvalidValue, "passwordSetup %q requires the attribute \"password\"", setup)
		}
	case "":
		switch {
		case b.password != nil && !b.self:
			// A password an admin sets is a temporary one.
			setup = schemas.PasswordSetupTemporaryPassword
		case cur == nil && rules.onboarding == OnboardingInvite && mailAddress(Resource{Attributes: b.attrs}, rules.format) != "":
			setup, state = schemas.PasswordSetupInvite, undelivered
		case cur == nil:
			state = schemas.AccountStateNoPassword
		}
	default:
		return UserWrite{}, Errorf(InvalidValue, "attribute %q must be %q or %q, got %q", schemas.CustomerUserURN+":passwordSetup",
			schemas.PasswordSetupInvite, schemas.PasswordSetupTemporaryPassword, setup)
	}
	if b.password != nil {
		w.PasswordHash = HashPassword(*b.password)
		state = schemas.AccountStatePasswordChangeRequired
		if b.self {
			state = schemas.AccountStateActive
		}
	}
	// A link emailed to choose a password dies with any new password (the
	// customer's own through /Me, or one an administrator set) and when the
	// account is disabled: re-enabling it must not bring back a link sent
	// before. Deleting the account ends its links too (the store does).
	// Its sessions and tickets end with a disable too, for good (a new
	// password ends them by itself: they are bound to the password).
	w.EndSessions = cur != nil && enabled(*cur) && !enabled(Resource{Attributes: b.attrs})
	w.EndLinks = w.EndSessions || cur != nil && w.PasswordHash != ""
	if state == "" {
		state = schemas.AccountStateActive
	}
	if setup != "" {
		ext["passwordSetup"] = setup
	}
	stampAccountState(b.attrs, state)
	return w, nil
}
