package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// tokensKey is the hash of every organization's tokens, by hash: a request
// finds its token, and so its organization, with one HGET.
const tokensKey = "scimd:tokens"

// PutToken stores t, replacing any token with the same hash.
func (s *Store) PutToken(ctx context.Context, t resources.Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("put token %s: %w", t.Name, err)
	}
	if err := s.client.HSet(ctx, tokensKey, t.Hash, b).Err(); err != nil {
		return fmt.Errorf("put token %s: redis: %w", t.Name, err)
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
