package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

func TestInvitations(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "owner")
		u := mustCreateUser(t, s, user("inv@example.com", "displayName", "Inv"))
		const h1, h2 = "hash-one", "hash-two"

		if err := s.PutInvitation(ctx, org, u.ID, h1, time.Hour, u.Version+1); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("PutInvitation with a stale version = %v, want a version conflict", err)
		}
		err := s.PutInvitation(ctx, org, "no-such-user", h1, time.Hour, 1)
		wantCode(t, "PutInvitation for no user", err, resources.NotFound)

		if err := s.PutInvitation(ctx, org, u.ID, h1, time.Hour, u.Version); err != nil {
			t.Fatalf("PutInvitation: %v", err)
		}
		if id, err := s.InvitationUser(ctx, org, h1); err != nil || id != u.ID {
			t.Fatalf("InvitationUser(h1) = %q, %v; want %q", id, err, u.ID)
		}
		_, err = s.InvitationUser(ctx, "globex", h1)
		wantCode(t, "InvitationUser in another organization", err, resources.NotFound)

		// A new invitation revokes the old one.
		if err := s.PutInvitation(ctx, org, u.ID, h2, time.Hour, u.Version); err != nil {
			t.Fatalf("PutInvitation (resend): %v", err)
		}
		_, err = s.InvitationUser(ctx, org, h1)
		wantCode(t, "InvitationUser of a replaced invitation", err, resources.NotFound)
		if ttl := s.client.PTTL(ctx, "scimd:{acme}:invite:"+h2).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("PTTL of the invitation = %v, want at most an hour", ttl)
		}
		if ttl := s.client.PTTL(ctx, "scimd:{acme}:uinvite:"+u.ID).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("PTTL of the user's invitation = %v, want at most an hour", ttl)
		}

		next := resources.Resource{ID: u.ID, Attributes: map[string]any{"userName": "inv@example.com", "displayName": "Inv", "state": "active"}}
		w := resources.UserWrite{PasswordHash: "$argon2id$fake"}
		_, err = s.RedeemInvitation(ctx, org, h1, next, u.Version, w)
		wantCode(t, "RedeemInvitation of a replaced invitation", err, resources.NotFound)
		if _, err := s.RedeemInvitation(ctx, org, h2, next, u.Version+5, w); !errors.Is(err, resources.ErrVersionConflict) {
			t.Fatalf("RedeemInvitation with a stale version = %v, want a version conflict", err)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != "" {
			t.Fatalf("a failed redeem wrote the password hash")
		}
		out, err := s.RedeemInvitation(resources.WithActor(ctx, resources.CustomerActor(u.ID)), org, h2, next, u.Version, w)
		if err != nil {
			t.Fatalf("RedeemInvitation: %v", err)
		}
		if out.Version != u.Version+1 || !out.Modified.After(u.Modified) || !out.Created.Equal(u.Created) {
			t.Errorf("RedeemInvitation = version %d, modified %v, created %v; want version %d, later modified, same created",
				out.Version, out.Modified, out.Created, u.Version+1)
		}
		got, _ := s.GetUser(ctx, org, u.ID)
		if got.Attributes["state"] != "active" || got.Version != out.Version {
			t.Errorf("stored user = %v (version %d), want the redeemed document", got.Attributes, got.Version)
		}
		if h, _ := s.PasswordHash(ctx, org, u.ID); h != w.PasswordHash {
			t.Errorf("PasswordHash = %q, want %q", h, w.PasswordHash)
		}
		// Burnt: once only, and nothing of it is left.
		_, err = s.RedeemInvitation(ctx, org, h2, next, out.Version, w)
		wantCode(t, "RedeemInvitation twice", err, resources.NotFound)
		for _, k := range keys(t, s) {
			if strings.Contains(k, "invite:") {
				t.Errorf("key %s left after the invitation was used", k)
			}
		}
		// The lastModified index moved with the version.
		page, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: 10})
		if err != nil || page.Total != 1 {
			t.Fatalf("ListUsers = %v, %v", page, err)
		}

		wantWhoDid(t, s, "system create", "owner invite", "owner invite", "customer:"+u.ID+" replace")
	})
}

func TestInvitationExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("exp@example.com"))
		if err := s.PutInvitation(ctx, org, u.ID, "h", 50*time.Millisecond, u.Version); err != nil {
			t.Fatal(err)
		}
		if err := s.PutTicket(ctx, org, u.ID, u.Version, "t", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		awaitExpiry(t, "the invitation", func() error { _, err := s.InvitationUser(ctx, org, "h"); return err })
		awaitExpiry(t, "the ticket", func() error { _, _, err := s.TicketUser(ctx, org, "t"); return err })
		_, err := s.RedeemInvitation(ctx, org, "h", u, u.Version, resources.UserWrite{PasswordHash: "x"})
		wantCode(t, "RedeemInvitation after its TTL", err, resources.NotFound)
	})
}

func TestTickets(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("tick@example.com"))
		if err := s.PutTicket(ctx, org, u.ID, u.Version, "t1", time.Minute); err != nil {
			t.Fatal(err)
		}
		if id, v, err := s.TicketUser(ctx, org, "t1"); err != nil || id != u.ID || v != u.Version {
			t.Fatalf("TicketUser = %q, %v", id, err)
		}
		w := resources.UserWrite{PasswordHash: "$argon2id$new"}
		if _, err := s.RedeemTicket(ctx, org, "t1", u, u.Version, w); err != nil {
			t.Fatalf("RedeemTicket: %v", err)
		}
		_, err := s.RedeemTicket(ctx, org, "t1", u, u.Version+1, w)
		wantCode(t, "RedeemTicket twice", err, resources.NotFound)
		_, err = s.RedeemInvitation(ctx, org, "t1", u, u.Version+1, w)
		wantCode(t, "RedeemInvitation of a ticket", err, resources.NotFound)
	})
}

// TestDeleteUserTakesItsInvitationAlong: deleting a user deletes its pending
// invitation and confirmation, keys and all: delete is complete.
func TestDeleteUserTakesItsInvitationAlong(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "owner")
		u := mustCreateUser(t, s, user("gone@example.com"))
		if err := s.PutInvitation(ctx, org, u.ID, "inv-hash", time.Hour, u.Version); err != nil {
			t.Fatalf("PutInvitation: %v", err)
		}
		if err := s.PutConfirmation(ctx, org, u.ID, "conf-hash", time.Hour, u.Version); err != nil {
			t.Fatalf("PutConfirmation: %v", err)
		}
		if err := s.DeleteUser(ctx, org, u.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		for _, k := range []string{"invite:inv-hash", "uinvite:" + u.ID, "confirm:conf-hash", "uconfirm:" + u.ID} {
			if n := s.client.Exists(ctx, "scimd:{acme}:"+k).Val(); n != 0 {
				t.Errorf("key %s outlived its deleted user", k)
			}
		}
	})
}
