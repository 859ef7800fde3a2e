package backend

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimd/scimd/resources"
)

// Changes returns up to count of an organization's most recent change log
// entries (its audit trail), newest first. Costs O(count).
func (s *Store) Changes(ctx context.Context, org string, count int64) ([]resources.Change, error) {
	return s.ChangesBefore(ctx, org, "", count)
}

// isStreamID reports whether id is a Redis stream entry id ("ms-seq", two
// unsigned 64-bit numbers): what [resources.Change.Seq] holds.
func isStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	digits := func(s string) bool {
		_, err := strconv.ParseUint(s, 10, 64)
		return err == nil && s[0] != '+'
	}
	return ok && digits(ms) && digits(seq)
}

// ChangesBefore returns up to count of an organization's change log entries
// older than the entry before (a [resources.Change.Seq]; "" for the newest),
// newest first: passing the last Seq of a page as before reads the next one.
// A before that is no Seq fails with [resources.InvalidValue]. Costs
// O(log N + count).
func (s *Store) ChangesBefore(ctx context.Context, org, before string, count int64) ([]resources.Change, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	end := "+"
	switch {
	case before == "":
	case !isStreamID(before):
		return nil, resources.Errorf(resources.InvalidValue, "%q is not a position in the audit trail", before)
	case before == "0-0":
		return nil, nil // nothing is older; Redis refuses the range "(0-0"
	default:
		end = "(" + before // exclusive (Redis 6.2)
	}
	msgs, err := s.client.XRevRangeN(ctx, p+"changes", end, "-", count).Result()
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
