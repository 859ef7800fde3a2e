package backend

import (
	"context"
	"fmt"

	"github.com/scimd/scimd/resources"
)

// orgsKey is the set of known organizations.
const orgsKey = "scimd:orgs"

// CreateOrg records an organization. It reports whether the organization is
// new, so that first-start set-up (an initial owner token) happens once. The
// name must pass [resources.ValidateOrgName].
func (s *Store) CreateOrg(ctx context.Context, org string) (bool, error) {
	if err := resources.ValidateOrgName(org); err != nil {
		return false, err
	}
	n, err := s.client.SAdd(ctx, orgsKey, org).Result()
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
