package backend

import (
	"context"
	"fmt"

	"github.com/scimd/scimd/resources"
)

// Changes returns up to count of an organization's most recent change log
// entries (its audit trail), newest first. Costs O(count).
func (s *Store) Changes(ctx context.Context, org string, count int64) ([]resources.Change, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	msgs, err := s.client.XRevRangeN(ctx, p+"changes", "+", "-", count).Result()
	if err != nil {
		return nil, fmt.Errorf("changes of %s: redis: %w", org, err)
	}
	out := make([]resources.Change, len(msgs))
	for i, m := range msgs {
		field := func(k string) string { v, _ := m.Values[k].(string); return v }
		out[i] = resources.Change{
			Seq:        m.ID,
			Time:       parseTime(field("time")),
			Who:        field("who"),
			Action:     resources.Action(field("action")),
			Type:       field("type"),
			ResourceID: field("id"),
		}
	}
	return out, nil
}
