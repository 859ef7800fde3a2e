package backend

import (
	"context"
	"fmt"
)

// orgsKey is the set of known organizations.
const orgsKey = "scimd:orgs"

// CreateOrg records an organization. It reports whether the organization is
// new, so that first-start set-up (an initial owner token) happens once.
func (s *Store) CreateOrg(ctx context.Context, org string) (bool, error) {
	n, err := s.client.SAdd(ctx, orgsKey, org).Result()
	if err != nil {
		return false, fmt.Errorf("create org %s: redis: %w", org, err)
	}
	return n == 1, nil
}
