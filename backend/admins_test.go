package backend

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// elapse lets d pass for the store's expiries: at once on the embedded
// store, by sleeping on a real one.
func elapse(s *Store, d time.Duration) {
	if s.mini != nil {
		s.mini.FastForward(d)
		return
	}
	time.Sleep(d)
}

func mustCreateAdmin(t *testing.T, s *Store, email string, role resources.Role) resources.Admin {
	t.Helper()
	a, err := s.CreateAdmin(context.Background(), org, resources.Admin{Email: email, Role: role})
	if err != nil {
		t.Fatalf("CreateAdmin(%s, %s): %v", email, role, err)
	}
	return a
}

func session(id, hash string) resources.Session {
	return resources.Session{Hash: hash, AdminID: id, Created: time.Now().UTC().Truncate(time.Millisecond), CSRF: "csrf-" + hash}
}

// adminLog returns the change log's administrator entries, oldest first, as
// "who action id".
func adminLog(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	for _, c := range allChanges(t, s) {
		if c.Type == resources.TypeAdmin {
			out = append(out, c.Who+" "+string(c.Action)+" "+c.ResourceID)
		}
	}
	return out
}

func TestAdminsCreateAndRead(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		start := time.Now().Add(-time.Second)
		bob, err := s.CreateAdmin(ctx, org, resources.Admin{Email: "Bob@Example.com", Role: resources.RoleCollaborator})
		if err != nil {
			t.Fatalf("CreateAdmin(bob): %v", err)
		}
		if bob.ID == "" || bob.Created.Before(start) || bob.Created.After(time.Now()) || bob.HasPassword {
			t.Fatalf("CreateAdmin = %+v, want an id, created now, no password", bob)
		}
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		if _, err := s.CreateAdmin(ctx, "globex", resources.Admin{Email: "bob@example.com", Role: resources.RoleOwner}); err != nil {
			t.Fatalf("CreateAdmin of the same email in another organization: %v", err)
		}

		for _, c := range []struct {
			name string
			a    resources.Admin
			code resources.Code
		}{
			{"same email", resources.Admin{Email: "Bob@Example.com", Role: resources.RoleOwner}, resources.Uniqueness},
			{"other case", resources.Admin{Email: "BOB@example.COM", Role: resources.RoleOwner}, resources.Uniqueness},
			{"reader", resources.Admin{Email: "r@example.com", Role: resources.RoleReader}, resources.InvalidValue},
			{"no role", resources.Admin{Email: "r@example.com"}, resources.InvalidValue},
			{"no email", resources.Admin{Role: resources.RoleOwner}, resources.InvalidValue},
		} {
			_, err := s.CreateAdmin(ctx, org, c.a)
			wantCode(t, "CreateAdmin "+c.name, err, c.code)
		}

		for _, c := range []struct {
			call string
			get  func() (resources.Admin, error)
			want resources.Admin
		}{
			{"Admin(bob)", func() (resources.Admin, error) { return s.Admin(ctx, org, bob.ID) }, bob},
			{"AdminByEmail(bob@example.com)", func() (resources.Admin, error) { return s.AdminByEmail(ctx, org, "bob@example.com") }, bob},
			{"AdminByEmail(BOB@EXAMPLE.COM)", func() (resources.Admin, error) { return s.AdminByEmail(ctx, org, "BOB@EXAMPLE.COM") }, bob},
			{"AdminByEmail(ann)", func() (resources.Admin, error) { return s.AdminByEmail(ctx, org, "Ann@example.com") }, ann},
		} {
			got, err := c.get()
			if err != nil || got.ID != c.want.ID || got.Email != c.want.Email || got.Role != c.want.Role ||
				!got.Created.Equal(c.want.Created) || got.HasPassword {
				t.Errorf("%s = %+v, %v; want %+v", c.call, got, err, c.want)
			}
		}
		for _, c := range []struct {
			call string
			err  error
		}{
			{"Admin(unknown)", func() error { _, err := s.Admin(ctx, org, "nope"); return err }()},
			{"Admin(\"\")", func() error { _, err := s.Admin(ctx, org, ""); return err }()},
			{"Admin in another organization", func() error { _, err := s.Admin(ctx, "globex", bob.ID); return err }()},
			{"AdminByEmail(unknown)", func() error { _, err := s.AdminByEmail(ctx, org, "x@example.com"); return err }()},
			{"AdminByEmail in an invalid organization", func() error { _, err := s.AdminByEmail(ctx, "a{b}", "bob@example.com"); return err }()},
			{"AdminPasswordHash(unknown)", func() error { _, err := s.AdminPasswordHash(ctx, org, "nope"); return err }()},
		} {
			wantCode(t, c.call, c.err, resources.NotFound)
		}

		list, err := s.ListAdmins(ctx, org)
		if err != nil || len(list) != 2 || list[0].ID != ann.ID || list[1].ID != bob.ID {
			t.Fatalf("ListAdmins = %+v, %v; want ann, bob", list, err)
		}
		if list, err := s.ListAdmins(ctx, "initech"); err != nil || len(list) != 0 {
			t.Errorf("ListAdmins of an organization without any = %+v, %v", list, err)
		}
		if h, err := s.AdminPasswordHash(ctx, org, bob.ID); h != "" || err != nil {
			t.Errorf("AdminPasswordHash of a new administrator = %q, %v; want none", h, err)
		}

		want := []string{"cli create " + bob.ID, "system create " + ann.ID}
		if got := adminLog(t, s); !slices.Equal(got, want) {
			t.Errorf("change log = %v, want %v", got, want)
		}
		for _, c := range allChanges(t, s) {
			if strings.Contains(strings.ToLower(fmt.Sprint(c)), "example.com") {
				t.Errorf("change log entry %+v holds an email", c)
			}
		}
	})
}

func TestAdminsLastOwner(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "admin:x")
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		bob := mustCreateAdmin(t, s, "bob@example.com", resources.RoleCollaborator)
		if err := s.CreateSession(ctx, org, session(ann.ID, "s-ann"), time.Hour); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if err := s.PutAdminLink(ctx, org, ann.ID, resources.AdminLinkSignIn, "l-ann", time.Hour); err != nil {
			t.Fatalf("PutAdminLink: %v", err)
		}

		// The last owner can be neither demoted nor removed, and trying
		// changes nothing.
		before := dump(t, s)
		for _, c := range []struct {
			call string
			do   func() error
		}{
			{"SetAdminRole(ann, collaborator)", func() error {
				_, err := s.SetAdminRole(ctx, org, ann.ID, resources.RoleCollaborator)
				return err
			}},
			{"DeleteAdmin(ann)", func() error { return s.DeleteAdmin(ctx, org, ann.ID) }},
		} {
			err := c.do()
			if !errors.Is(err, resources.ErrLastOwner) {
				t.Errorf("%s = %v, want ErrLastOwner", c.call, err)
			}
			wantCode(t, c.call, err, resources.Conflict)
			if after := dump(t, s); !reflect.DeepEqual(after, before) {
				t.Fatalf("%s changed the store:\nbefore %v\nafter  %v", c.call, before, after)
			}
		}

		// Setting the role one has changes and records nothing.
		n := len(allChanges(t, s))
		if got, err := s.SetAdminRole(ctx, org, ann.ID, resources.RoleOwner); err != nil || got.Role != resources.RoleOwner || got.ID != ann.ID {
			t.Fatalf("SetAdminRole(ann, owner) = %+v, %v", got, err)
		}
		if len(allChanges(t, s)) != n {
			t.Errorf("SetAdminRole to the same role was recorded")
		}

		// With a second owner, the first can go.
		got, err := s.SetAdminRole(ctx, org, bob.ID, resources.RoleOwner)
		if err != nil || got.Role != resources.RoleOwner || got.Email != bob.Email {
			t.Fatalf("SetAdminRole(bob, owner) = %+v, %v", got, err)
		}
		if got, err := s.SetAdminRole(resources.WithAction(ctx, resources.ActionPatch), org, ann.ID, resources.RoleCollaborator); err != nil || got.Role != resources.RoleCollaborator {
			t.Fatalf("SetAdminRole(ann, collaborator) with two owners = %+v, %v", got, err)
		}
		_, err = s.SetAdminRole(ctx, org, bob.ID, resources.RoleCollaborator)
		wantCode(t, "SetAdminRole(bob, collaborator), now the last owner", err, resources.Conflict)
		if err := s.DeleteAdmin(ctx, org, ann.ID); err != nil {
			t.Fatalf("DeleteAdmin(ann), a collaborator: %v", err)
		}
		wantCode(t, "DeleteAdmin(bob), the last owner", s.DeleteAdmin(ctx, org, bob.ID), resources.Conflict)
		wantCode(t, "DeleteAdmin(ann) again", s.DeleteAdmin(ctx, org, ann.ID), resources.NotFound)
		_, err = s.SetAdminRole(ctx, org, ann.ID, resources.RoleOwner)
		wantCode(t, "SetAdminRole of a removed administrator", err, resources.NotFound)
		_, err = s.SetAdminRole(ctx, org, bob.ID, resources.RoleReader)
		wantCode(t, "SetAdminRole(reader)", err, resources.InvalidValue)

		want := []string{"system create " + ann.ID, "system create " + bob.ID, "admin:x invite " + ann.ID,
			"admin:x replace " + bob.ID, "admin:x patch " + ann.ID, "admin:x delete " + ann.ID}
		if got := adminLog(t, s); !slices.Equal(got, want) {
			t.Errorf("change log = %v, want %v", got, want)
		}
		if got := s.client.SMembers(ctx, "scimd:{acme}:owners").Val(); !slices.Equal(got, []string{bob.ID}) {
			t.Errorf("owners = %v, want [%s]", got, bob.ID)
		}
	})
}

func TestAdminLinks(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		bob := mustCreateAdmin(t, s, "bob@example.com", resources.RoleCollaborator)
		put := func(id, kind, hash string, ttl time.Duration) {
			t.Helper()
			if err := s.PutAdminLink(ctx, org, id, kind, hash, ttl); err != nil {
				t.Fatalf("PutAdminLink(%s, %s): %v", kind, hash, err)
			}
		}
		put(ann.ID, resources.AdminLinkInvite, "inv-ann", time.Hour)
		put(ann.ID, resources.AdminLinkInvite, "inv-ann-2", time.Hour)
		put(bob.ID, resources.AdminLinkSignIn, "in-bob", time.Hour)
		put(bob.ID, resources.AdminLinkSignIn, "short", 100*time.Millisecond)
		wantCode(t, "PutAdminLink for no administrator", s.PutAdminLink(ctx, org, "nope", resources.AdminLinkInvite, "x", time.Hour), resources.NotFound)
		if err := s.PutAdminLink(ctx, org, ann.ID, "other", "x", time.Hour); err == nil {
			t.Errorf("PutAdminLink of an unknown kind = nil, want an error")
		}
		if ttl := s.client.PTTL(ctx, "scimd:{acme}:adminlink:inv-ann").Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("PTTL of a link = %v, want at most an hour", ttl)
		}
		elapse(s, 300*time.Millisecond)

		for _, c := range []struct {
			kind, hash, org string
			want            string // admin id, "" for NotFound
		}{
			{resources.AdminLinkInvite, "inv-ann", org, ann.ID},
			{resources.AdminLinkInvite, "inv-ann-2", org, ann.ID},
			{resources.AdminLinkSignIn, "in-bob", org, bob.ID},
			{resources.AdminLinkSignIn, "inv-ann", org, ""},      // kind mismatch
			{resources.AdminLinkInvite, "in-bob", org, ""},       // kind mismatch
			{resources.AdminLinkSignIn, "short", org, ""},        // expired
			{resources.AdminLinkInvite, "nope", org, ""},         // unknown
			{resources.AdminLinkInvite, "", org, ""},             // none
			{resources.AdminLinkInvite, "inv-ann", "globex", ""}, // another organization
		} {
			got, err := s.AdminLink(ctx, c.org, c.kind, c.hash)
			call := fmt.Sprintf("AdminLink(%s, %s, %s)", c.org, c.kind, c.hash)
			if c.want == "" {
				wantCode(t, call, err, resources.NotFound)
				continue
			}
			if err != nil || got.ID != c.want {
				t.Errorf("%s = %+v, %v; want administrator %s", call, got, err, c.want)
			}
		}
		// Reading a link consumes nothing.
		if _, err := s.AdminLink(ctx, org, resources.AdminLinkInvite, "inv-ann"); err != nil {
			t.Errorf("AdminLink read twice: %v", err)
		}

		// A new link lets go of the expired ones in the administrator's set.
		put(bob.ID, resources.AdminLinkSignIn, "in-bob-2", time.Hour)
		if got := s.client.SMembers(ctx, "scimd:{acme}:adminlinks:"+bob.ID).Val(); len(got) != 2 || slices.Contains(got, "short") {
			t.Errorf("bob's links = %v, want in-bob and in-bob-2", got)
		}
	})
}

func TestRedeemAdminLink(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		bob := mustCreateAdmin(t, s, "bob@example.com", resources.RoleCollaborator)
		for _, l := range []struct{ id, kind, hash string }{
			{ann.ID, resources.AdminLinkInvite, "inv1"},
			{ann.ID, resources.AdminLinkInvite, "inv2"},
			{ann.ID, resources.AdminLinkSignIn, "in1"},
			{bob.ID, resources.AdminLinkInvite, "inv-bob"},
		} {
			if err := s.PutAdminLink(ctx, org, l.id, l.kind, l.hash, time.Hour); err != nil {
				t.Fatalf("PutAdminLink(%s): %v", l.hash, err)
			}
		}
		as := resources.WithActor(ctx, resources.AdminActor(ann.ID))

		// Unusable links change nothing.
		before := dump(t, s)
		for _, c := range []struct {
			name, kind, hash, expect string
		}{
			{"kind mismatch", resources.AdminLinkSignIn, "inv1", ""},
			{"unknown", resources.AdminLinkInvite, "nope", ""},
			{"another administrator's", resources.AdminLinkInvite, "inv-bob", ann.ID},
		} {
			sess := session(c.expect, "s-"+c.name)
			_, err := s.RedeemAdminLink(as, org, c.kind, c.hash, "$pw", sess, time.Hour)
			wantCode(t, "RedeemAdminLink "+c.name, err, resources.NotFound)
			if after := dump(t, s); !reflect.DeepEqual(after, before) {
				t.Fatalf("RedeemAdminLink %s changed the store:\nbefore %v\nafter  %v", c.name, before, after)
			}
		}

		// An invitation sets the password, ends the other links, and signs in.
		got, err := s.RedeemAdminLink(as, org, resources.AdminLinkInvite, "inv1", "$argon2id$ann", session(ann.ID, "s1"), time.Hour)
		if err != nil || got.ID != ann.ID || got.Email != ann.Email || !got.HasPassword {
			t.Fatalf("RedeemAdminLink(inv1) = %+v, %v; want ann with a password", got, err)
		}
		if h, err := s.AdminPasswordHash(ctx, org, ann.ID); h != "$argon2id$ann" || err != nil {
			t.Errorf("AdminPasswordHash after the invitation = %q, %v", h, err)
		}
		sess, err := s.Session(ctx, org, "s1", time.Hour)
		if want := session(ann.ID, "s1"); err != nil || sess.AdminID != ann.ID || sess.CSRF != want.CSRF || sess.Hash != "s1" ||
			time.Since(sess.Created) > time.Minute {
			t.Errorf("Session(s1) = %+v, %v; want ann's", sess, err)
		}
		for _, hash := range []string{"inv1", "inv2"} {
			_, err := s.RedeemAdminLink(as, org, resources.AdminLinkInvite, hash, "$x", session(ann.ID, "s-"+hash), time.Hour)
			wantCode(t, "RedeemAdminLink("+hash+") after the invitation", err, resources.NotFound)
		}
		_, err = s.AdminLink(ctx, org, resources.AdminLinkSignIn, "in1")
		wantCode(t, "AdminLink(in1) after a password was set", err, resources.NotFound)

		// A sign-in link keeps the password and the administrator's other
		// links, and works once.
		if err := s.PutAdminLink(ctx, org, bob.ID, resources.AdminLinkSignIn, "in-bob", time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err = s.RedeemAdminLink(ctx, org, resources.AdminLinkSignIn, "in-bob", "", session("", "s-bob"), time.Minute)
		if err != nil || got.ID != bob.ID || got.HasPassword {
			t.Fatalf("RedeemAdminLink(in-bob) = %+v, %v; want bob without a password", got, err)
		}
		if sess, err := s.Session(ctx, org, "s-bob", time.Minute); err != nil || sess.AdminID != bob.ID {
			t.Errorf("Session(s-bob) = %+v, %v; want bob's", sess, err)
		}
		if _, err := s.AdminLink(ctx, org, resources.AdminLinkInvite, "inv-bob"); err != nil {
			t.Errorf("bob's invitation after a sign-in link: %v", err)
		}
		_, err = s.RedeemAdminLink(ctx, org, resources.AdminLinkSignIn, "in-bob", "", session("", "s-bob2"), time.Minute)
		wantCode(t, "RedeemAdminLink(in-bob) twice", err, resources.NotFound)

		// A link of a removed administrator is gone with them; one whose
		// administrator vanished otherwise is refused.
		if err := s.client.Del(ctx, "scimd:{acme}:admin:"+bob.ID).Err(); err != nil {
			t.Fatal(err)
		}
		_, err = s.RedeemAdminLink(ctx, org, resources.AdminLinkInvite, "inv-bob", "$x", session("", "s-ghost"), time.Minute)
		wantCode(t, "RedeemAdminLink of a vanished administrator", err, resources.NotFound)
		if n := s.client.Exists(ctx, "scimd:{acme}:session:s-ghost").Val(); n != 0 {
			t.Errorf("a refused redeem started a session")
		}

		want := []string{"system create " + ann.ID, "system create " + bob.ID, "system invite " + ann.ID, "system invite " + ann.ID,
			"system invite " + ann.ID, "system invite " + bob.ID, "admin:" + ann.ID + " setPassword " + ann.ID, "system invite " + bob.ID}
		if got := adminLog(t, s); !slices.Equal(got, want) {
			t.Errorf("change log = %v, want %v", got, want)
		}
	})
}

func TestAdminSessions(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		n := len(allChanges(t, s))
		for _, h := range []string{"s1", "s2"} {
			if err := s.CreateSession(ctx, org, session(ann.ID, h), time.Hour); err != nil {
				t.Fatalf("CreateSession(%s): %v", h, err)
			}
		}
		wantCode(t, "CreateSession for no administrator", s.CreateSession(ctx, org, session("nope", "s3"), time.Hour), resources.NotFound)
		if err := s.CreateSession(ctx, org, session("", "s3"), time.Hour); err == nil {
			t.Errorf("CreateSession without an administrator = nil, want an error")
		}

		// Reading a session renews its idle timeout.
		if ttl := s.client.PTTL(ctx, "scimd:{acme}:session:s1").Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("PTTL of a new session = %v, want at most an hour", ttl)
		}
		if _, err := s.Session(ctx, org, "s1", 3*time.Hour); err != nil {
			t.Fatalf("Session(s1): %v", err)
		}
		if ttl := s.client.PTTL(ctx, "scimd:{acme}:session:s1").Val(); ttl <= 2*time.Hour {
			t.Errorf("PTTL after Session with 3h = %v, want more than 2h", ttl)
		}

		// An idle session ends.
		if _, err := s.Session(ctx, org, "s2", 100*time.Millisecond); err != nil {
			t.Fatalf("Session(s2): %v", err)
		}
		elapse(s, 300*time.Millisecond)
		_, err := s.Session(ctx, org, "s2", time.Hour)
		wantCode(t, "Session(s2) after its idle timeout", err, resources.NotFound)

		// A new session lets go of the expired ones in the set.
		if err := s.CreateSession(ctx, org, session(ann.ID, "s4"), time.Hour); err != nil {
			t.Fatal(err)
		}
		got := s.client.SMembers(ctx, "scimd:{acme}:adminsessions:"+ann.ID).Val()
		if slices.Sort(got); !slices.Equal(got, []string{"s1", "s4"}) {
			t.Errorf("ann's sessions = %v, want s1, s4", got)
		}

		// Signing out.
		for _, h := range []string{"s1", "s1", "nope", ""} {
			if err := s.DeleteSession(ctx, org, h); err != nil {
				t.Fatalf("DeleteSession(%q): %v", h, err)
			}
		}
		_, err = s.Session(ctx, org, "s1", time.Hour)
		wantCode(t, "Session after DeleteSession", err, resources.NotFound)
		if got := s.client.SMembers(ctx, "scimd:{acme}:adminsessions:"+ann.ID).Val(); !slices.Equal(got, []string{"s4"}) {
			t.Errorf("ann's sessions after DeleteSession = %v, want s4", got)
		}
		for _, c := range []struct{ org, hash string }{{"globex", "s4"}, {org, ""}, {"a{b}", "s4"}} {
			_, err := s.Session(ctx, c.org, c.hash, time.Hour)
			wantCode(t, fmt.Sprintf("Session(%s, %q)", c.org, c.hash), err, resources.NotFound)
		}
		if got := len(allChanges(t, s)); got != n {
			t.Errorf("sessions added %d change log entries, want none", got-n)
		}
	})
}

func TestAdminEndings(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "admin:x")
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		bob := mustCreateAdmin(t, s, "Bob@example.com", resources.RoleOwner)
		for _, a := range []resources.Admin{ann, bob} {
			for _, h := range []string{"1", "2", "3"} {
				if err := s.CreateSession(ctx, org, session(a.ID, a.ID+"-s"+h), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.PutAdminLink(ctx, org, a.ID, resources.AdminLinkInvite, a.ID+"-l", time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		alive := func(id string) (sessions, links []string) {
			t.Helper()
			for _, h := range []string{"1", "2", "3"} {
				if _, err := s.Session(ctx, org, id+"-s"+h, time.Hour); err == nil {
					sessions = append(sessions, "s"+h)
				}
			}
			if _, err := s.AdminLink(ctx, org, resources.AdminLinkInvite, id+"-l"); err == nil {
				links = append(links, "l")
			}
			return sessions, links
		}

		for _, c := range []struct {
			name, keep   string
			wantSessions []string
		}{
			{"keeping s2", ann.ID + "-s2", []string{"s2"}},
			{"keeping another's session", bob.ID + "-s1", nil},
			{"keeping none", "", nil},
		} {
			if err := s.SetAdminPassword(ctx, org, ann.ID, "$pw-"+c.name, c.keep); err != nil {
				t.Fatalf("SetAdminPassword %s: %v", c.name, err)
			}
			if sessions, links := alive(ann.ID); !slices.Equal(sessions, c.wantSessions) || links != nil {
				t.Errorf("after SetAdminPassword %s, ann has sessions %v and links %v; want sessions %v, no links", c.name, sessions, links, c.wantSessions)
			}
			if h, _ := s.AdminPasswordHash(ctx, org, ann.ID); h != "$pw-"+c.name {
				t.Errorf("AdminPasswordHash after SetAdminPassword %s = %q", c.name, h)
			}
			if sessions, links := alive(bob.ID); len(sessions) != 3 || len(links) != 1 {
				t.Fatalf("SetAdminPassword of ann ended bob's sessions or links: %v %v", sessions, links)
			}
		}
		if a, _ := s.Admin(ctx, org, ann.ID); !a.HasPassword {
			t.Errorf("Admin after SetAdminPassword = %+v, want HasPassword", a)
		}
		wantCode(t, "SetAdminPassword of no administrator", s.SetAdminPassword(ctx, org, "nope", "$pw", ""), resources.NotFound)
		if err := s.SetAdminPassword(ctx, org, ann.ID, "", ""); err == nil {
			t.Errorf("SetAdminPassword without a hash = nil, want an error")
		}

		// Removing an administrator ends their sessions and links, frees
		// their email, and leaves no key behind.
		if err := s.DeleteAdmin(ctx, org, bob.ID); err != nil {
			t.Fatalf("DeleteAdmin(bob): %v", err)
		}
		if sessions, links := alive(bob.ID); sessions != nil || links != nil {
			t.Errorf("after DeleteAdmin bob has sessions %v and links %v", sessions, links)
		}
		for _, k := range keys(t, s) {
			if strings.Contains(k, bob.ID) {
				t.Errorf("key %s is left after DeleteAdmin(bob)", k)
			}
		}
		_, err := s.AdminByEmail(ctx, org, "bob@example.com")
		wantCode(t, "AdminByEmail after DeleteAdmin", err, resources.NotFound)
		bob2 := mustCreateAdmin(t, s, "BOB@example.com", resources.RoleCollaborator)
		if got, err := s.AdminByEmail(ctx, org, "bob@EXAMPLE.com"); err != nil || got.ID != bob2.ID {
			t.Errorf("AdminByEmail of a new bob = %+v, %v; want %s", got, err, bob2.ID)
		}

		setpw := "admin:x setPassword " + ann.ID
		want := []string{"system create " + ann.ID, "system create " + bob.ID, "admin:x invite " + ann.ID, "admin:x invite " + bob.ID,
			setpw, setpw, setpw, "admin:x delete " + bob.ID, "system create " + bob2.ID}
		if got := adminLog(t, s); !slices.Equal(got, want) {
			t.Errorf("change log = %v, want %v", got, want)
		}
	})
}

// TestAdminInjectedFailure makes every administrators' write script fail
// right after its checks and shows that nothing was written (see
// TestInjectedFailure).
func TestAdminInjectedFailure(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ann := mustCreateAdmin(t, s, "ann@example.com", resources.RoleOwner)
		bob := mustCreateAdmin(t, s, "bob@example.com", resources.RoleOwner)
		if err := s.PutAdminLink(ctx, org, bob.ID, resources.AdminLinkInvite, "l1", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, org, session(bob.ID, "s1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		for _, sc := range []struct {
			script **script
			src    string
		}{
			{&s.admins.create, createAdminSrc}, {&s.admins.setRole, setAdminRoleSrc}, {&s.admins.delete, deleteAdminSrc},
			{&s.admins.setPassword, setAdminPasswordSrc}, {&s.admins.putLink, putAdminLinkSrc},
			{&s.admins.redeemLink, redeemAdminLinkSrc}, {&s.admins.createSession, createSessionSrc},
		} {
			if strings.Count(sc.src, "--@checked") != 1 {
				t.Fatalf("script has not one --@checked marker:\n%s", sc.src)
			}
			*sc.script = newScript(strings.Replace(sc.src, "--@checked", "error('injected failure')", 1))
		}
		before := dump(t, s)
		calls := map[string]error{}
		_, calls["CreateAdmin"] = s.CreateAdmin(ctx, org, resources.Admin{Email: "c@example.com", Role: resources.RoleOwner})
		_, calls["SetAdminRole"] = s.SetAdminRole(ctx, org, ann.ID, resources.RoleCollaborator)
		calls["DeleteAdmin"] = s.DeleteAdmin(ctx, org, bob.ID)
		calls["SetAdminPassword"] = s.SetAdminPassword(ctx, org, bob.ID, "$pw", "")
		calls["PutAdminLink"] = s.PutAdminLink(ctx, org, ann.ID, resources.AdminLinkSignIn, "l2", time.Hour)
		_, calls["RedeemAdminLink"] = s.RedeemAdminLink(ctx, org, resources.AdminLinkInvite, "l1", "$pw", session("", "s2"), time.Hour)
		calls["CreateSession"] = s.CreateSession(ctx, org, session(ann.ID, "s3"), time.Hour)
		for call, err := range calls {
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Errorf("%s = %v, want the injected failure", call, err)
			}
			if resources.ErrorCode(err) != 0 {
				t.Errorf("%s: a Redis failure became a client error %v", call, err)
			}
		}
		if after := dump(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("failed writes changed the data:\nbefore %v\nafter  %v", before, after)
		}
	})
}
