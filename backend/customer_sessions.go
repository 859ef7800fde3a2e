package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

var _ resources.CustomerSessionStore = (*Store)(nil)

// Customers' sessions of the customer pages, kept under the hash of their
// secret, expiring on their own:
//
//	csession:<hash>   STRING "<userId> <password stamp>"; PX its lifetime

// errNoCustomerSession is the store's answer to a session that ended or
// never was.
var errNoCustomerSession = resources.Errorf(resources.NotFound, "customer session not found")

// PutCustomerSession stores sess under hash until ttl passes.
func (s *Store) PutCustomerSession(ctx context.Context, org, hash string, sess resources.CustomerSession, ttl time.Duration) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("put customer session: %w", err)
	}
	if hash == "" || sess.UserID == "" || sess.PasswordStamp == "" || strings.ContainsRune(sess.UserID, ' ') || ttl <= 0 {
		return fmt.Errorf("put customer session: incomplete session (user %q, ttl %v)", sess.UserID, ttl)
	}
	if err := s.setPX(ctx, p+"csession:"+hash, sess.UserID+" "+sess.PasswordStamp, ttl); err != nil {
		return fmt.Errorf("put customer session of %s: redis: %w", sess.UserID, err)
	}
	return nil
}

// CustomerSession returns the session stored under hash, or
// [resources.NotFound].
func (s *Store) CustomerSession(ctx context.Context, org, hash string) (resources.CustomerSession, error) {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return resources.CustomerSession{}, errNoCustomerSession
	}
	v, err := s.client.Get(ctx, p+"csession:"+hash).Result()
	if errors.Is(err, redis.Nil) {
		return resources.CustomerSession{}, errNoCustomerSession
	}
	if err != nil {
		return resources.CustomerSession{}, fmt.Errorf("customer session: redis: %w", err)
	}
	id, stamp, _ := strings.Cut(v, " ")
	return resources.CustomerSession{UserID: id, PasswordStamp: stamp}, nil
}

// DeleteCustomerSession ends the session stored under hash; ending one that
// does not exist is no error.
func (s *Store) DeleteCustomerSession(ctx context.Context, org, hash string) error {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return nil
	}
	if err := s.del(ctx, p+"csession:"+hash); err != nil {
		return fmt.Errorf("delete customer session: redis: %w", err)
	}
	return nil
}
