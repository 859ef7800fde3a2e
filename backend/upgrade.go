package backend

import (
	"context"
	"fmt"
)

// legacyKeys are keys, after an organization's prefix, that earlier versions
// of scimd wrote and this one neither reads nor writes. A server removes
// them when it starts ([Store.UpgradeAll]); until then they are harmless,
// and [Store.Check] knows them.
//
//   - unique:user:userName, the HASH lowercase userName -> userId: the
//     userName index keeps userNames unique (kind.uniqueByIndex), each
//     entry being the lowercase userName NUL the id. Users written before
//     keep their key of it in their field "uk" until their next write.
//
// An older server still running against the store would check uniqueness
// in what is left of the hash: upgrade every server of a deployment
// together.
var legacyKeys = []string{"unique:user:userName"}

// Upgrade removes an organization's legacy keys (see legacyKeys) and
// returns how many there were. UNLINK is O(1): Redis frees a large hash in
// the background.
func (s *Store) Upgrade(ctx context.Context, org string) (int, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, err
	}
	keys := make([]string, len(legacyKeys))
	for i, k := range legacyKeys {
		keys[i] = p + k
	}
	n, err := s.client.Unlink(ctx, keys...).Result()
	if err != nil {
		return 0, fmt.Errorf("upgrade %s: redis: %w", org, err)
	}
	return int(n), nil
}

// UpgradeAll runs [Store.Upgrade] for every organization scimd:orgs lists,
// calling each with its outcome.
func (s *Store) UpgradeAll(ctx context.Context, each func(org string, removed int, err error)) error {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		n, err := s.Upgrade(ctx, org)
		each(org, n, err)
	}
	return nil
}
