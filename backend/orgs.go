package backend

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// orgsKey is the set of known organizations.
const orgsKey = "scimd:orgs"

// CreateOrg records an organization. It reports whether the organization is
// new, so that first-start set-up (an initial owner token) happens once. The
// name must pass [resources.ValidateOrgName].
//
// SADD is sent at most once: resent after its answer was lost, it would
// answer 0 for an organization the first one created, and the set-up would
// never happen. A lost answer is [resources.ErrOutcomeUnknown] instead.
func (s *Store) CreateOrg(ctx context.Context, org string) (bool, error) {
	if err := resources.ValidateOrgName(org); err != nil {
		return false, err
	}
	cmd := redis.NewCmd(ctx, "sadd", orgsKey, org)
	_ = s.client.Process(ctx, noResend{cmd})
	n, err := cmd.Int64()
	if mayHaveRun(err) {
		err = outcomeUnknownError{err}
	}
	if err != nil {
		return false, fmt.Errorf("create org %s: redis: %w", org, err)
	}
	return n == 1, nil
}

// OrgExists reports whether [Store.CreateOrg] recorded org.
func (s *Store) OrgExists(ctx context.Context, org string) (bool, error) {
	ok, err := s.client.SIsMember(ctx, orgsKey, org).Result()
	if err != nil {
		return false, fmt.Errorf("org %s exists: redis: %w", org, err)
	}
	return ok, nil
}
