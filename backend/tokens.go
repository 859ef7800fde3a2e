package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// tokensKey is the hash of every organization's tokens, by hash: a request
// finds its token, and so its organization, with one HGET.
const tokensKey = "scimd:tokens"

// tokenIndex is the key of an organization's token index: name -> hash. It
// makes names unique per organization and lets an owner list and revoke
// tokens by name without scanning every organization's tokens.
func tokenIndex(p string) string { return p + "tokens" }

// tokenUsed is the key of an organization's tokens' last uses: name -> time.
// It is kept apart from the tokens so that recording a use rewrites no token,
// and it is best-effort: [Store.TouchToken] is called at most once per token
// per authentication cache period of each server.
func tokenUsed(p string) string { return p + "tokenused" }

// CreateToken stores a new token. Its name must be free in its organization,
// else it fails with [resources.Uniqueness] and stores nothing. The change is
// recorded in the organization's change log, attributed to
// [resources.Actor](ctx).
//
// The token (global hash, by token hash) and the organization's index (name ->
// hash, with the change log entry) live in different Cluster slots, so they
// are two writes: the token first, then the index. A crash in between leaves a
// token in the global hash that no index names; its secret was never shown
// (the caller prints it only after CreateToken returns), so nobody can use it.
func (s *Store) CreateToken(ctx context.Context, t resources.Token) error {
	if err := s.storeToken(ctx, t, "create"); err != nil {
		return fmt.Errorf("create token %s: %w", t.Name, err)
	}
	return nil
}

// PutToken stores t under its name, replacing the organization's token of that
// name, if any: the replaced token stops working. Storing the same token again
// changes nothing and records nothing, so that a server may put its configured
// bootstrap token on every start.
func (s *Store) PutToken(ctx context.Context, t resources.Token) error {
	if err := s.storeToken(ctx, t, "put"); err != nil {
		return fmt.Errorf("put token %s: %w", t.Name, err)
	}
	return nil
}

func (s *Store) storeToken(ctx context.Context, t resources.Token, mode string) error {
	if err := resources.ValidateTokenName(t.Name); err != nil {
		return err
	}
	if !t.Role.Valid() {
		return resources.Errorf(resources.InvalidValue, "invalid role %q: want owner, collaborator or reader", t.Role)
	}
	if t.Hash == "" {
		return errors.New("token has no hash")
	}
	p, err := prefix(t.Org)
	if err != nil {
		return err
	}
	taken := func() error {
		return resources.Errorf(resources.Uniqueness, "organization %q already has a token named %q; revoke it first or choose another name", t.Org, t.Name)
	}
	if mode == "create" {
		// Fail before writing anything in the common case; the script
		// checks again, atomically.
		n, err := s.client.HExists(ctx, tokenIndex(p), t.Name).Result()
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		if n {
			return taken()
		}
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.client.HSet(ctx, tokensKey, t.Hash, b).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	_, ts := now()
	res, err := s.putToken.Run(ctx, s.client, []string{tokenIndex(p)},
		p, t.Name, t.Hash, mode, resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	switch marker, _ := res[0].(string); marker {
	case "ok":
	case "taken":
		// Lost a race for the name: withdraw the token, never shown to anyone.
		if err := s.client.HDel(ctx, tokensKey, t.Hash).Err(); err != nil {
			return fmt.Errorf("withdraw token: redis: %w", err)
		}
		return taken()
	default:
		return markerErr(marker)
	}
	if old, _ := res[1].(string); old != "" && old != t.Hash {
		if err := s.client.HDel(ctx, tokensKey, old).Err(); err != nil {
			return fmt.Errorf("remove replaced token: redis: %w", err)
		}
		s.publishRevoked(ctx, t.Org, t.Name)
	}
	return nil
}

// TokenByHash returns the token with the given hash, or [resources.NotFound].
func (s *Store) TokenByHash(ctx context.Context, hash string) (resources.Token, error) {
	b, err := s.client.HGet(ctx, tokensKey, hash).Bytes()
	if errors.Is(err, redis.Nil) {
		return resources.Token{}, resources.Errorf(resources.NotFound, "token not found")
	}
	if err != nil {
		return resources.Token{}, fmt.Errorf("token by hash: redis: %w", err)
	}
	var t resources.Token
	if err := json.Unmarshal(b, &t); err != nil {
		return resources.Token{}, fmt.Errorf("token by hash: decode: %w", err)
	}
	return t, nil
}

// ListTokens returns an organization's tokens, by name, with when each was
// last used ([Store.TouchToken]; zero: not since it was created). The tokens
// carry their hash (callers must not show it: it identifies the token in the
// store). Costs O(tokens of the organization), in two round trips.
func (s *Store) ListTokens(ctx context.Context, org string) ([]resources.Token, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	// One round trip for the organization's keys (one slot), one for the
	// global hash.
	var indexCmd, usedCmd *redis.MapStringStringCmd
	if _, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		indexCmd = pipe.HGetAll(ctx, tokenIndex(p))
		usedCmd = pipe.HGetAll(ctx, tokenUsed(p))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list tokens of %s: redis: %w", org, err)
	}
	index, used := indexCmd.Val(), usedCmd.Val()
	if len(index) == 0 {
		return nil, nil
	}
	hashes := make([]string, 0, len(index))
	for _, h := range index {
		hashes = append(hashes, h)
	}
	vals, err := s.client.HMGet(ctx, tokensKey, hashes...).Result()
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: redis: %w", org, err)
	}
	out := make([]resources.Token, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			// Half revoked (see RevokeToken): no longer works, not listed.
			continue
		}
		var t resources.Token
		if err := json.Unmarshal([]byte(str), &t); err != nil {
			return nil, fmt.Errorf("list tokens of %s: decode: %w", org, err)
		}
		t.LastUsed = parseTime(used[t.Name])
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RevokeToken removes an organization's token by name, or fails with
// [resources.NotFound]. The change is recorded in the organization's change
// log, attributed to [resources.Actor](ctx).
//
// The token is removed from the global hash first, so that it stops working
// even if the second write, to the organization's index, does not happen; a
// crash in between leaves a name in the index that RevokeToken removes when
// run again. Every process that watches [EventsChannel] ([Store.WatchEvents])
// is told at once, so that none keeps accepting it from its token cache.
func (s *Store) RevokeToken(ctx context.Context, org, name string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	hash, err := s.client.HGet(ctx, tokenIndex(p), name).Result()
	if errors.Is(err, redis.Nil) {
		return resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
	}
	if err != nil {
		return fmt.Errorf("revoke token %s: redis: %w", name, err)
	}
	if err := s.client.HDel(ctx, tokensKey, hash).Err(); err != nil {
		return fmt.Errorf("revoke token %s: redis: %w", name, err)
	}
	_, ts := now()
	res, err := s.revokeToken.Run(ctx, s.client, []string{tokenIndex(p)},
		p, name, hash, resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("revoke token %s: redis: %w", name, err)
	}
	switch marker, _ := res[0].(string); marker {
	case "ok":
		s.publishRevoked(ctx, org, name)
		return nil
	case "notfound":
		return resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
	case "conflict":
		return resources.Errorf(resources.Conflict, "token %q of organization %q was replaced while being revoked; run the revocation again", name, org)
	default:
		return fmt.Errorf("revoke token %s: %w", name, markerErr(marker))
	}
}

// TouchToken records that the organization's token name was used now, if the
// organization has a token of that name. It records nothing in the change
// log: a use is no change.
func (s *Store) TouchToken(ctx context.Context, org, name string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("touch token %s: %w", name, err)
	}
	_, ts := now()
	if err := s.touchToken.Run(ctx, s.client, []string{tokenIndex(p), tokenUsed(p)}, name, ts).Err(); err != nil {
		return fmt.Errorf("touch token %s: redis: %w", name, err)
	}
	return nil
}
