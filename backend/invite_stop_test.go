package backend

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// stopAfterCreate is the store as a scimd process sees it that stops (or
// loses Redis) right after a customer's creation script ran: every later
// write fails without reaching Redis.
type stopAfterCreate struct {
	*Store
	stopped bool
}

var errStopped = resources.Errorf(resources.Unavailable, "the store is unavailable; retry later")

func (c *stopAfterCreate) CreateUser(ctx context.Context, org string, u resources.Resource, w resources.UserWrite) (resources.Resource, error) {
	r, err := c.Store.CreateUser(ctx, org, u, w)
	c.stopped = true
	return r, err
}

func (c *stopAfterCreate) ReplaceUser(ctx context.Context, org string, u resources.Resource, version int64, w resources.UserWrite) (resources.Resource, error) {
	if c.stopped {
		return resources.Resource{}, errStopped
	}
	return c.Store.ReplaceUser(ctx, org, u, version, w)
}

func (c *stopAfterCreate) PutInvitation(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64) error {
	if c.stopped {
		return errStopped
	}
	return c.Store.PutInvitation(ctx, org, userID, hash, ttl, version)
}

// TestInvitedCustomerStoppedAfterCreate: creating an invited customer is a
// write of the customer, then of its invitation, then the email, then the
// state that says it was sent. Stopped after the first, the stored account
// says its invitation was not delivered (an administrator resends it),
// never pendingInvitation without an invitation (review of issue 12's
// stop 29).
func TestInvitedCustomerStoppedAfterCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "token:idp")
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		c := &stopAfterCreate{Store: s}
		users := resources.NewUsers(c).WithOnboarding(resources.Onboarding{Store: c, Notifier: discardNotices{}})
		res, err := users.Create(ctx, org, map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "invited@example.com",
			"urn:scim:schemas:extension:customer:2.0:User": map[string]any{"passwordSetup": "invite"}})
		if err != nil || res.ID == "" {
			t.Fatalf("Create = %v, %v", res.ID, err)
		}
		stored, err := s.GetUser(ctx, org, res.ID)
		if err != nil {
			t.Fatal(err)
		}
		ext, _ := stored.Attributes["urn:scim:schemas:extension:customer:2.0:User"].(map[string]any)
		if state, _ := ext["accountState"].(string); state != "invitationNotDelivered" {
			t.Errorf("stored accountState %q after a stop before the invitation, want invitationNotDelivered", state)
		}
	})
}
