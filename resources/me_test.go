package resources

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// memUsers is an in-memory [UserStore] for the self-service rules; the real
// stores are tested through HTTP in package scim.
type memUsers struct {
	mu    sync.Mutex
	users map[string]Resource
	pw    map[string]string
	next  int
}

func newMemUsers() *memUsers {
	return &memUsers{users: map[string]Resource{}, pw: map[string]string{}}
}

func (m *memUsers) CreateUser(_ context.Context, _ string, u Resource, w UserWrite) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.users {
		if strings.EqualFold(stringAttr(o.Attributes, "userName"), stringAttr(u.Attributes, "userName")) {
			return Resource{}, Errorf(Uniqueness, "userName taken")
		}
	}
	m.next++
	u.ID, u.Version, u.Created, u.Modified = "u"+strconv.Itoa(m.next), 1, time.Now(), time.Now()
	u.Attributes = cloneMap(u.Attributes)
	m.users[u.ID] = u
	if w.PasswordHash != "" {
		m.pw[u.ID] = w.PasswordHash
	}
	return u, nil
}

func (m *memUsers) ReadUser(ctx context.Context, org, id string) (Resource, error) {
	return m.GetUser(ctx, org, id)
}

func (m *memUsers) GetUser(_ context.Context, _, id string) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return Resource{}, Errorf(NotFound, "user %q not found", id)
	}
	u.Attributes = cloneMap(u.Attributes)
	return u, nil
}

func (m *memUsers) ReplaceUser(_ context.Context, _ string, u Resource, version int64, w UserWrite) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.users[u.ID]
	if !ok {
		return Resource{}, Errorf(NotFound, "user %q not found", u.ID)
	}
	if cur.Version != version {
		return Resource{}, ErrVersionConflict
	}
	cur.Attributes, cur.Version, cur.Modified = cloneMap(u.Attributes), version+1, time.Now()
	m.users[u.ID] = cur
	if w.PasswordHash != "" {
		m.pw[u.ID] = w.PasswordHash
	}
	return cur, nil
}

func (m *memUsers) DeleteUser(_ context.Context, _, id string, _ int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, id)
	delete(m.pw, id)
	return nil
}

func (m *memUsers) ListUsers(_ context.Context, _ string, q Query) (Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p Page
	for _, u := range m.users {
		if q.Filter == nil || Match(u.Attributes, q.Filter) {
			p.Total++
			p.Resources = append(p.Resources, u)
		}
	}
	return p, nil
}

func (m *memUsers) PasswordHash(_ context.Context, _, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pw[id], nil
}

func (m *memUsers) SignInStamp(ctx context.Context, org, id string) (string, error) {
	return m.PasswordHash(ctx, org, id)
}

// SearchUsers implements [UserSearcher]; the /Me tests do not search.
func (m *memUsers) SearchUsers(context.Context, string, UserSearch) (Page, error) {
	return Page{}, Errorf(InvalidValue, "memUsers does not search")
}

var _ UserStore = (*memUsers)(nil)

const (
	testTemp = "temporary-pass-1"
	testNew  = "customer-pass-2"
)

// selfFixture is a Users service with one customer, created by an admin with
// a temporary password and, when active is set, changed by the customer.
func selfFixture(t testing.TB, active bool, extra map[string]any) (*Users, *memUsers, string) {
	t.Helper()
	store := newMemUsers()
	u := NewUsers(store)
	raw := map[string]any{
		"schemas":                 []any{schemas.UserURN},
		"userName":                "jane@example.com",
		"name":                    map[string]any{"givenName": "Jane", "familyName": "Doe"},
		"externalId":              "crm-1",
		"password":                testTemp,
		schemas.CustomerUserURN:   map[string]any{"passwordSetup": "temporaryPassword"},
		schemas.EnterpriseUserURN: map[string]any{"department": "Sales"},
	}
	for k, v := range extra {
		raw[k] = v
	}
	res, err := u.Create(context.Background(), "acme", raw)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if active {
		if _, err := u.PatchSelf(context.Background(), "acme", res.ID, []PatchOp{{Op: "replace", Path: "password", Value: testNew, HasValue: true}}, 0); err != nil {
			t.Fatalf("PatchSelf(password): %v", err)
		}
	}
	return u, store, res.ID
}

func TestCustomerEditable(t *testing.T) {
	rt := schemas.Users()
	editable := map[string]bool{"name": true, "displayName": true, "nickName": true, "preferredLanguage": true,
		"locale": true, "timezone": true, "phoneNumbers": true, "addresses": true, "photos": true}
	for _, a := range rt.AttributesOf(rt.Schema.ID) {
		if got := CustomerEditable(a.Name()); got != editable[a.Name()] {
			t.Errorf("CustomerEditable(%q) = %v, want %v", a.Name(), got, editable[a.Name()])
		}
		if CustomerEditable(a.Name()) && a.Mutability() != "readWrite" {
			t.Errorf("CustomerEditable(%q) but its mutability is %s", a.Name(), a.Mutability())
		}
	}
	for _, n := range []string{"password", "userName", "groups", "active", "emails", schemas.EnterpriseUserURN, schemas.CustomerUserURN} {
		if CustomerEditable(n) {
			t.Errorf("CustomerEditable(%q) = true, want false", n)
		}
	}
}

func TestPatchSelfRule(t *testing.T) {
	ent := schemas.EnterpriseUserURN
	cases := []struct {
		name   string
		ops    []PatchOp
		code   Code
		detail string
	}{
		{"name", []PatchOp{{Op: "replace", Path: "name.givenName", Value: "Janet", HasValue: true}}, 0, ""},
		{"every editable attribute", []PatchOp{{Op: "add", HasValue: true, Value: map[string]any{
			"displayName": "J", "nickName": "j", "preferredLanguage": "en", "locale": "en-US", "timezone": "UTC",
			"phoneNumbers": []any{map[string]any{"value": "+1"}}, "addresses": []any{map[string]any{"locality": "X"}},
			"photos": []any{map[string]any{"value": "https://example.com/p"}},
		}}}, 0, ""},
		{"remove name", []PatchOp{{Op: "remove", Path: "name"}}, 0, ""},
		{"unchanged protected value", []PatchOp{{Op: "replace", Path: "externalId", Value: "crm-1", HasValue: true}}, 0, ""},
		{"userName in another case", []PatchOp{{Op: "replace", Path: "userName", Value: "JANE@example.com", HasValue: true}}, 0, ""},
		{"userName", []PatchOp{{Op: "replace", Path: "userName", Value: "x@example.com", HasValue: true}}, Mutability, "immutable"},
		{"groups", []PatchOp{{Op: "add", Path: "groups", Value: []any{map[string]any{"value": "g"}}, HasValue: true}}, Mutability, "read-only"},
		{"accountState", []PatchOp{{Op: "replace", Path: schemas.CustomerUserURN + ":accountState", Value: "active", HasValue: true}}, Mutability, "accountState"},
		{"active", []PatchOp{{Op: "replace", Path: "active", Value: false, HasValue: true}}, Forbidden, `"active"`},
		{"externalId", []PatchOp{{Op: "remove", Path: "externalId"}}, Forbidden, `"externalId"`},
		{"emails", []PatchOp{{Op: "add", Path: "emails", Value: []any{map[string]any{"value": "b@example.com"}}, HasValue: true}}, Forbidden, `"emails"`},
		{"x509Certificates", []PatchOp{{Op: "add", Path: "x509Certificates", Value: []any{map[string]any{"value": "TUlJ"}}, HasValue: true}}, Forbidden, `"x509Certificates"`},
		{"title", []PatchOp{{Op: "add", Path: "title", Value: "CEO", HasValue: true}}, Forbidden, `"title"`},
		{"enterprise attribute", []PatchOp{{Op: "replace", Path: ent + ":department", Value: "Board", HasValue: true}}, Forbidden, ent + ":department"},
		{"enterprise removed", []PatchOp{{Op: "remove", Path: ent}}, Forbidden, ent + ":department"},
		{"enterprise added", []PatchOp{{Op: "add", Path: ent + ":costCenter", Value: "1", HasValue: true}}, Forbidden, ent + ":costCenter"},
		// A value filter on an attribute the customer may not change is
		// refused before any operation is applied or the filter parsed.
		{"filter on a protected attribute, unparsed", []PatchOp{{Op: "remove", Path: "emails[value eq].display"}}, Forbidden, `"emails"`},
		{"filter on a protected attribute, after an editable change", []PatchOp{
			{Op: "replace", Path: "nickName", Value: "j", HasValue: true},
			{Op: "replace", Path: `emails[type eq "work" and value co "x"].display`, Value: "x", HasValue: true},
		}, Forbidden, `"emails"`},
		{"filter on a protected attribute, without a path", []PatchOp{{Op: "add", HasValue: true, Value: map[string]any{
			"nickName": "j", `emails[type eq "work"].value`: "b@example.com",
		}}}, Forbidden, `"emails"`},
		{"filter on an editable attribute", []PatchOp{{Op: "add", Path: `phoneNumbers[type eq "work"].value`, Value: "+1", HasValue: true}}, 0, ""},
		{"filter on a read-only attribute", []PatchOp{{Op: "remove", Path: `groups[value eq "g"]`}}, Mutability, "read-only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, store, id := selfFixture(t, true, nil)
			before, _ := store.GetUser(context.Background(), "acme", id)
			_, err := u.PatchSelf(context.Background(), "acme", id, c.ops, 0)
			if got := ErrorCode(err); got != c.code || c.code != 0 && !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("PatchSelf(%s) = %v (code %d), want code %d with %q", c.name, err, got, c.code, c.detail)
			}
			after, _ := store.GetUser(context.Background(), "acme", id)
			if c.code != 0 && after.Version != before.Version {
				t.Errorf("refused PatchSelf(%s) wrote version %d", c.name, after.Version)
			}
		})
	}
}

func TestReplaceSelfRule(t *testing.T) {
	ctx := context.Background()
	put := func(extra map[string]any) map[string]any {
		m := map[string]any{"schemas": []any{schemas.UserURN}, "userName": "jane@example.com"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	t.Run("keeps what the customer may not change", func(t *testing.T) {
		u, _, id := selfFixture(t, true, map[string]any{"nickName": "jd"})
		res, err := u.ReplaceSelf(ctx, "acme", id, put(map[string]any{"displayName": "Jane"}), 0)
		if err != nil {
			t.Fatalf("ReplaceSelf: %v", err)
		}
		a := res.Attributes
		if a["displayName"] != "Jane" || a["nickName"] != nil || a["name"] != nil {
			t.Errorf("editable attributes after ReplaceSelf = displayName %v, nickName %v, name %v; want Jane, cleared, cleared", a["displayName"], a["nickName"], a["name"])
		}
		if a["externalId"] != "crm-1" || a["active"] != true || subAttrs(a, schemas.EnterpriseUserURN, false)["department"] != "Sales" ||
			subAttrs(a, schemas.CustomerUserURN, false)["passwordSetup"] != "temporaryPassword" {
			t.Errorf("ReplaceSelf lost protected attributes: %v", a)
		}
	})
	for _, c := range []struct {
		name   string
		extra  map[string]any
		code   Code
		detail string
	}{
		{"same protected values", map[string]any{"externalId": "crm-1", "active": true, schemas.EnterpriseUserURN: map[string]any{"department": "Sales"}}, 0, ""},
		{"active", map[string]any{"active": false}, Forbidden, `"active"`},
		{"externalId", map[string]any{"externalId": "other"}, Forbidden, `"externalId"`},
		{"enterprise", map[string]any{schemas.EnterpriseUserURN: map[string]any{"department": "Board"}}, Forbidden, "department"},
		{"passwordSetup", map[string]any{schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"}}, Mutability, "passwordSetup"},
		{"userName", map[string]any{"userName": "x@example.com"}, Mutability, "immutable"},
		{"short password", map[string]any{"password": "short"}, InvalidValue, "at least"},
		{"current password", map[string]any{"password": testNew}, InvalidValue, "must differ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, _, id := selfFixture(t, true, nil)
			_, err := u.ReplaceSelf(ctx, "acme", id, put(c.extra), 0)
			if got := ErrorCode(err); got != c.code || c.code != 0 && !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("ReplaceSelf(%s) = %v (code %d), want code %d with %q", c.name, err, got, c.code, c.detail)
			}
		})
	}
}

func TestSelfPasswordChange(t *testing.T) {
	ctx := context.Background()
	u, _, id := selfFixture(t, false, nil)
	cur, err := u.Get(ctx, "acme", id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if err := CheckPasswordChanged(cur); ErrorCode(err) != Forbidden {
		t.Errorf("CheckPasswordChanged(temporary password) = %v, want Forbidden", err)
	}
	nameOp := []PatchOp{{Op: "replace", Path: "nickName", Value: "x", HasValue: true}}
	if _, err := u.PatchSelf(ctx, "acme", id, nameOp, 0); ErrorCode(err) != Forbidden || !strings.Contains(err.Error(), "temporary password") {
		t.Errorf("PatchSelf(nickName) with a temporary password = %v, want Forbidden", err)
	}
	res, err := u.PatchSelf(ctx, "acme", id, []PatchOp{{Op: "replace", Path: "password", Value: testNew, HasValue: true}}, 0)
	if err != nil {
		t.Fatalf("PatchSelf(password): %v", err)
	}
	if got := accountState(res); got != schemas.AccountStateActive {
		t.Errorf("accountState after the customer's change = %q, want active", got)
	}
	if err := CheckPasswordChanged(res); err != nil {
		t.Errorf("CheckPasswordChanged(active) = %v, want nil", err)
	}
	if _, err := u.Authenticate(ctx, "acme", "jane@example.com", testTemp); ErrorCode(err) != Unauthorized {
		t.Errorf("Authenticate(old password) = %v, want Unauthorized", err)
	}
	if _, err := u.Authenticate(ctx, "acme", "JANE@example.com", testNew); err != nil {
		t.Errorf("Authenticate(new password) = %v", err)
	}

	// An administrator's password is temporary, whatever the state before.
	res, err = u.Patch(ctx, "acme", id, []PatchOp{{Op: "replace", Path: "password", Value: "admin-set-pass", HasValue: true}}, 0)
	if err != nil {
		t.Fatalf("Patch(password) as admin: %v", err)
	}
	if got := accountState(res); got != schemas.AccountStatePasswordChangeRequired {
		t.Errorf("accountState after an admin's change = %q, want passwordChangeRequired", got)
	}
	res, err = u.Replace(ctx, "acme", id, map[string]any{"schemas": []any{schemas.UserURN}, "userName": "jane@example.com", "password": "admin-set-pass-2"}, 0)
	if err != nil {
		t.Fatalf("Replace(password) as admin: %v", err)
	}
	if got := accountState(res); got != schemas.AccountStatePasswordChangeRequired {
		t.Errorf("accountState after an admin's PUT = %q, want passwordChangeRequired", got)
	}
}

func TestSelfPasswordAfterInvitation(t *testing.T) {
	ctx := context.Background()
	store := newMemUsers()
	u := NewUsers(store)
	res, err := u.Create(ctx, "acme", map[string]any{"schemas": []any{schemas.UserURN}, "userName": "inv@example.com",
		schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := u.Authenticate(ctx, "acme", "inv@example.com", ""); ErrorCode(err) != Unauthorized {
		t.Errorf("Authenticate(pending invitation) = %v, want Unauthorized", err)
	}
	// Accepting the invitation (another flow) leaves an active account with a
	// password; from then on the customer may change it through /Me.
	store.pw[res.ID] = HashPassword("accepted-pass-1")
	stored := store.users[res.ID]
	subAttrs(stored.Attributes, schemas.CustomerUserURN, false)["accountState"] = schemas.AccountStateActive
	if _, err := u.Authenticate(ctx, "acme", "inv@example.com", "accepted-pass-1"); err != nil {
		t.Fatalf("Authenticate(accepted invitation) = %v", err)
	}
	res, err = u.PatchSelf(ctx, "acme", res.ID, []PatchOp{{Op: "add", HasValue: true, Value: map[string]any{"password": "changed-pass-2"}}}, 0)
	if err != nil {
		t.Fatalf("PatchSelf(password) after invitation: %v", err)
	}
	if got := accountState(res); got != schemas.AccountStateActive {
		t.Errorf("accountState = %q, want active", got)
	}
	if got := subAttrs(res.Attributes, schemas.CustomerUserURN, false)["passwordSetup"]; got != schemas.PasswordSetupInvite {
		t.Errorf("passwordSetup = %v, want invite kept", got)
	}
	// An administrator still may not set the password of an invited customer.
	if _, err := u.Patch(ctx, "acme", res.ID, []PatchOp{{Op: "replace", Path: "password", Value: "admin-pass-3", HasValue: true}}, 0); ErrorCode(err) != InvalidValue {
		t.Errorf("admin Patch(password) of an invited customer = %v, want InvalidValue", err)
	}
}

func TestAuthenticateFailuresLookAlike(t *testing.T) {
	ctx := context.Background()
	u, _, id := selfFixture(t, true, nil)
	if _, err := u.Create(ctx, "acme", map[string]any{"schemas": []any{schemas.UserURN}, "userName": "nopw@example.com"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := invalidCredentials().Error()
	for _, c := range []struct{ name, user, password string }{
		{"unknown email", "nobody@example.com", testNew},
		{"wrong password", "jane@example.com", "wrong"},
		{"no password set", "nopw@example.com", ""},
		{"dummy hash's password", "nopw@example.com", "scimd: no such account"},
		{"empty userName", "", testNew},
		{"filter syntax in userName", `jane@example.com" or userName pr or userName eq "`, testNew},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := u.Authenticate(ctx, "acme", c.user, Secret(c.password))
			if ErrorCode(err) != Unauthorized || err.Error() != want {
				t.Errorf("Authenticate(%q) = %v, want Unauthorized %q", c.user, err, want)
			}
		})
	}
	if _, err := u.Patch(ctx, "acme", id, []PatchOp{{Op: "replace", Path: "active", Value: false, HasValue: true}}, 0); err != nil {
		t.Fatalf("Patch(active false): %v", err)
	}
	if _, err := u.Authenticate(ctx, "acme", "jane@example.com", testNew); ErrorCode(err) != Unauthorized || err.Error() != want {
		t.Errorf("Authenticate(inactive) = %v, want Unauthorized %q", err, want)
	}
}

// BenchmarkAuthenticate compares the cost of each outcome: the failures must
// cost what a success costs (one argon2id verification), or the time would
// tell which emails have accounts.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	u, _, _ := selfFixture(b, true, nil)
	for _, c := range []struct{ name, user, password string }{
		{"success", "jane@example.com", testNew},
		{"wrong_password", "jane@example.com", "wrong"},
		{"unknown_email", "nobody@example.com", testNew},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = u.Authenticate(ctx, "acme", c.user, Secret(c.password))
			}
		})
	}
}
