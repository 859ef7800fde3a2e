package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

func TestSelfRegistrationSetting(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		for _, o := range []string{org, "nosuchorg", "a{b}"} {
			if got, err := s.OrgSettings(ctx, o); err != nil || got.SelfRegistration {
				t.Fatalf("OrgSettings(%s) by default = %+v, %v; want off", o, got, err)
			}
		}
		for _, c := range []struct {
			on, changed bool
		}{{true, true}, {true, false}, {false, true}, {false, false}, {true, true}} {
			changed, err := s.SetSelfRegistration(ctx, org, c.on)
			if err != nil || changed != c.changed {
				t.Fatalf("SetSelfRegistration(%v) = %v, %v; want changed %v", c.on, changed, err, c.changed)
			}
			if got, _ := s.OrgSettings(ctx, org); got.SelfRegistration != c.on {
				t.Fatalf("OrgSettings after SetSelfRegistration(%v) = %+v", c.on, got)
			}
		}
		if got, _ := s.OrgSettings(ctx, "globex"); got.SelfRegistration {
			t.Errorf("another organization's setting changed")
		}
		var log []string
		for _, c := range allChanges(t, s) {
			log = append(log, c.Who+" "+string(c.Action)+" "+c.Type+" "+c.ResourceID)
		}
		want := "cli replace Settings selfRegistration"
		if len(log) != 3 || log[0] != want || log[1] != want || log[2] != want {
			t.Errorf("change log = %v, want three %q (changes only)", log, want)
		}
	})
}

func TestConfirmations(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), resources.RegistrationActor)
		u, err := s.CreateUser(ctx, org, user("reg@example.com", "state", "pendingConfirmation"), resources.UserWrite{PasswordHash: "$argon2id$chosen"})
		if err != nil {
			t.Fatal(err)
		}
		issue := resources.WithAction(ctx, resources.ActionRegister)
		if err := s.PutConfirmation(issue, org, u.ID, "c1", time.Hour, u.Version+1); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("PutConfirmation with a stale version = %v, want a version conflict", err)
		}
		wantCode(t, "PutConfirmation for no user", s.PutConfirmation(issue, org, "no-such-user", "c1", time.Hour, 1), resources.NotFound)
		if has, err := s.HasConfirmation(ctx, org, u.ID); has || err != nil {
			t.Fatalf("HasConfirmation before any = %v, %v", has, err)
		}
		if err := s.PutConfirmation(issue, org, u.ID, "c1", time.Hour, u.Version); err != nil {
			t.Fatalf("PutConfirmation: %v", err)
		}
		if err := s.PutConfirmation(issue, org, u.ID, "c2", time.Hour, u.Version); err != nil {
			t.Fatalf("PutConfirmation (again): %v", err)
		}
		_, err = s.ConfirmationUser(ctx, org, "c1")
		wantCode(t, "ConfirmationUser of a replaced confirmation", err, resources.NotFound)
		if id, err := s.ConfirmationUser(ctx, org, "c2"); err != nil || id != u.ID {
			t.Fatalf("ConfirmationUser(c2) = %q, %v; want %q", id, err, u.ID)
		}
		_, err = s.ConfirmationUser(ctx, "globex", "c2")
		wantCode(t, "ConfirmationUser in another organization", err, resources.NotFound)
		_, err = s.InvitationUser(ctx, org, "c2")
		wantCode(t, "InvitationUser of a confirmation", err, resources.NotFound)
		if has, err := s.HasConfirmation(ctx, org, u.ID); !has || err != nil {
			t.Fatalf("HasConfirmation = %v, %v; want true", has, err)
		}

		next := resources.Resource{ID: u.ID, Attributes: map[string]any{"userName": "reg@example.com", "state": "active"}}
		cctx := resources.WithAction(resources.WithActor(ctx, resources.CustomerActor(u.ID)), resources.ActionConfirm)
		if _, err := s.RedeemConfirmation(cctx, org, "c2", next, u.Version+5); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("RedeemConfirmation with a stale version = %v, want a version conflict", err)
		}
		_, err = s.RedeemConfirmation(cctx, "globex", "c2", next, u.Version)
		wantCode(t, "RedeemConfirmation in another organization", err, resources.NotFound)
		out, err := s.RedeemConfirmation(cctx, org, "c2", next, u.Version)
		if err != nil {
			t.Fatalf("RedeemConfirmation: %v", err)
		}
		if got, _ := s.GetUser(ctx, org, u.ID); got.Attributes["state"] != "active" || got.Version != out.Version || out.Version != u.Version+1 {
			t.Errorf("stored user = %v (version %d), want the confirmed document at version %d", got.Attributes, got.Version, u.Version+1)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "$argon2id$chosen" {
			t.Errorf("PasswordHash after confirming = %q, want the registered one kept", h)
		}
		_, err = s.RedeemConfirmation(cctx, org, "c2", next, out.Version)
		wantCode(t, "RedeemConfirmation twice", err, resources.NotFound)
		for _, k := range keys(t, s) {
			if strings.Contains(k, "confirm:") {
				t.Errorf("key %s left after the confirmation was used", k)
			}
		}
		wantWhoDid(t, s, "self-registration create", "self-registration register", "self-registration register", "customer:"+u.ID+" confirm")
	})
}

func TestConfirmationExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("late@example.com"))
		if err := s.PutConfirmation(ctx, org, u.ID, "c", 50*time.Millisecond, u.Version); err != nil {
			t.Fatal(err)
		}
		awaitExpiry(t, "the confirmation", func() error { _, err := s.ConfirmationUser(ctx, org, "c"); return err })
		if has, _ := s.HasConfirmation(ctx, org, u.ID); has {
			t.Errorf("HasConfirmation after its TTL = true")
		}
		_, err := s.RedeemConfirmation(ctx, org, "c", u, u.Version+1)
		wantCode(t, "RedeemConfirmation after its TTL", err, resources.NotFound)
	})
}

// awaitExpiry waits until lookup, of what was stored with a short TTL,
// answers NotFound. The wait is polled, not slept, because an expiry is
// late by up to a tick of the embedded store's clock, longer on a loaded
// machine (embedded_clock.go); past 10 s it fails.
func awaitExpiry(t *testing.T, what string, lookup func() error) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := lookup()
		if resources.ErrorCode(err) == resources.NotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still found 10 s after its TTL: %v", what, err)
		}
	}
}
