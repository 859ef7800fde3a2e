package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared abuse limits: the counts behind scim's per-token rate, per-address
// failed-authentication and per-address public-form limits, kept in Redis so
// that every scimd process on one deployment enforces one limit, not one
// each. Each decision is one Lua script on one key (atomic, one round trip)
// and reads the clock with the script's TIME, so that processes whose clocks
// disagree still agree on the limit. Every key expires when it would no
// longer limit anything.
//
// Keys (outside the organizations' "scimd:{<org>}:" prefix, so that
// [Store.Check]'s scan of an organization does not see them):
//
//	scimd:limit:{<org>}:token:<name>   STRING a token's bucket (GCRA: its theoretical arrival time, µs)
//	scimd:limit:public:<address>       STRING an address's bucket for the public pages (same)
//	scimd:limit:fail:<address>         HASH n (failed authentications in the window), p (reservations
//	                                   under way); expires when the window ends
//
// A token's bucket carries its organization's hash tag: on Cluster it lives
// in the organization's slot, on the master that already serves that
// organization's requests. An address belongs to no organization (it may
// fail against any), so its keys have no hash tag: Cluster hashes the whole
// key and spreads addresses over every slot; no one master counts every
// address, and a lost master loses only the counts of the addresses on it,
// which then count per process until it is back.
const limitPrefix = "scimd:limit:"

// EventsChannel is the pub/sub channel on which processes tell each other of
// revoked tokens and blocked addresses (see [Store.WatchEvents]).
const EventsChannel = "scimd:events"

// gcraSrc takes one request from the bucket at KEYS[1] (GCRA, equivalent to
// a token bucket of ARGV[2] requests refilled one per ARGV[1] µs). It returns
// 0 when the request is allowed, else the µs until one would be.
const gcraSrc = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next = tat + interval
local allowAt = next - burst * interval
if allowAt > now then return math.ceil(allowAt - now) end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
return 0
`

// reserveFailureSrc reserves a failure of the address at KEYS[1] (limit
// ARGV[1], window ARGV[2] ms). It returns {1, n, ttl} when reserved, {0, n,
// ttl} when none is left (n >= limit: blocked for ttl ms; else attempts
// under way may use up the rest).
const reserveFailureSrc = `
local v = redis.call('HMGET', KEYS[1], 'n', 'p')
local n, p = tonumber(v[1] or '0'), tonumber(v[2] or '0')
if n + p >= tonumber(ARGV[1]) then return {0, n, redis.call('PTTL', KEYS[1])} end
redis.call('HINCRBY', KEYS[1], 'p', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, n, redis.call('PTTL', KEYS[1])}
`

// settleFailureSrc settles a reservation (ARGV[3] = '1') and, when ARGV[4]
// = '1', counts a failure of the address at KEYS[1] (window ARGV[2] ms). It
// returns {n, ttl}: the failures of the window and the ms it has left.
const settleFailureSrc = `
if ARGV[3] == '1' and tonumber(redis.call('HGET', KEYS[1], 'p') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'p', -1)
end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if ARGV[4] == '1' then n = redis.call('HINCRBY', KEYS[1], 'n', 1) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {n, ttl}
`

var (
	gcraScript           = newScript(gcraSrc)
	reserveFailureScript = newScript(reserveFailureSrc)
	settleFailureScript  = newScript(settleFailureSrc)
)

// tokenLimitKey is the key of the bucket of org's token name.
func tokenLimitKey(org, name string) (string, error) {
	if _, err := prefix(org); err != nil {
		return "", err
	}
	return limitPrefix + "{" + org + "}:token:" + name, nil
}

// addressLimitKey is the key of an address's limit of the given kind. An
// address is written as it is, so that an operator can find it; anything
// else a client made up (a forged X-Forwarded-For behind a proxy that lets
// it through) is hashed, so that it can neither be long nor choose its slot
// with braces.
func addressLimitKey(kind, addr string) string {
	if _, err := netip.ParseAddr(addr); err != nil {
		if _, err := netip.ParsePrefix(addr); err != nil {
			sum := sha256.Sum256([]byte(addr))
			addr = "h:" + hex.EncodeToString(sum[:16])
		}
	}
	return limitPrefix + kind + ":" + addr
}

// AllowToken takes one request of org's token name from its bucket (rate
// requests per second, burst at once), shared by every process on this
// Redis; when the bucket is empty, ok is false and wait is how long until it
// holds one again.
func (s *Store) AllowToken(ctx context.Context, org, name string, rate float64, burst int) (wait time.Duration, ok bool, err error) {
	key, err := tokenLimitKey(org, name)
	if err != nil {
		return 0, false, fmt.Errorf("token rate: %w", err)
	}
	return s.allow(ctx, key, rate, burst)
}

// AllowAddress takes one submission of addr from its bucket of the public
// pages, as [Store.AllowToken] does for a token.
func (s *Store) AllowAddress(ctx context.Context, addr string, rate float64, burst int) (wait time.Duration, ok bool, err error) {
	return s.allow(ctx, addressLimitKey("public", addr), rate, burst)
}

func (s *Store) allow(ctx context.Context, key string, rate float64, burst int) (time.Duration, bool, error) {
	if rate <= 0 || burst <= 0 {
		return 0, true, nil
	}
	interval := math.Ceil(1e6 / rate) // µs per request
	us, err := gcraScript.Run(ctx, s.client, []string{key}, strconv.FormatFloat(interval, 'f', 0, 64), burst).Int64()
	if err != nil {
		return 0, false, fmt.Errorf("rate limit: redis: %w", err)
	}
	if us > 0 {
		return time.Duration(us) * time.Microsecond, false, nil
	}
	return 0, true, nil
}

// ReserveFailure reserves a failed authentication of addr before one is
// tried, so that concurrent attempts on every process together never get
// past limit failures per window. ok is false when none is left: failures
// of the window have reached limit (the address is blocked for left), or
// reservations under way may use up the rest. Every reservation needs its
// [Store.SettleFailure] with reserved true; one that a process never settles
// (it stopped) expires with the window.
func (s *Store) ReserveFailure(ctx context.Context, addr string, limit int, window time.Duration) (failures int, left time.Duration, ok bool, err error) {
	res, err := reserveFailureScript.Run(ctx, s.client, []string{addressLimitKey("fail", addr)}, limit, window.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 3 {
		return 0, 0, false, fmt.Errorf("reserve failure: redis: %w", err)
	}
	return int(res[1]), max(time.Duration(res[2])*time.Millisecond, 0), res[0] == 1, nil
}

// SettleFailure settles a reservation of [Store.ReserveFailure] (reserved)
// and, when failed, counts a failed authentication of addr in its window of
// the given length, which the first failure starts. It returns the window's
// failures and the time it has left. The failure that reaches limit is
// published on [EventsChannel], so that every process blocks addr at once
// (see [Store.WatchEvents]).
func (s *Store) SettleFailure(ctx context.Context, addr string, reserved, failed bool, limit int, window time.Duration) (failures int, left time.Duration, err error) {
	res, err := settleFailureScript.Run(ctx, s.client, []string{addressLimitKey("fail", addr)},
		limit, window.Milliseconds(), flag(reserved), flag(failed)).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, 0, fmt.Errorf("count failure: redis: %w", err)
	}
	failures, left = int(res[0]), max(time.Duration(res[1])*time.Millisecond, 0)
	if failed && failures == limit {
		// Best-effort: a process that misses it learns of the block from
		// the count when the address next fails there.
		_ = s.client.Publish(ctx, EventsChannel, blockedEvent(addr, left)).Err()
	}
	return failures, left, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Events of [EventsChannel]: "revoked <org> <name>" and
// "blocked <ms> <address>". Organization and token names hold no spaces
// (resources.ValidateOrgName, ValidateTokenName); an address is last, whole.
func revokedEvent(org, name string) string { return "revoked " + org + " " + name }

func blockedEvent(addr string, left time.Duration) string {
	return "blocked " + strconv.FormatInt(left.Milliseconds(), 10) + " " + addr
}

// publishRevoked tells every process that org's token name no longer works,
// so that none keeps it in its token cache. Best-effort: a process that
// misses it drops the token when its cache entry expires.
func (s *Store) publishRevoked(ctx context.Context, org, name string) {
	_ = s.client.Publish(ctx, EventsChannel, revokedEvent(org, name)).Err()
}

// eventsPing is how often [Store.WatchEvents] pings while nothing
// arrives: a connection that died without a word (a partition, a failover
// behind a proxy) is noticed within this and the client's read timeout.
const eventsPing = 5 * time.Second

// Events receives what [Store.WatchEvents] hears. Every function is
// optional and must return quickly.
type Events struct {
	// TokenRevoked: org's token name was revoked or replaced, through any
	// process (the API, the console, the CLI).
	TokenRevoked func(org, name string)
	// AddressBlocked: addr used up its failed authentications, on some
	// process; the block lasts blockedFor.
	AddressBlocked func(addr string, blockedFor time.Duration)
	// Subscribed: the subscription is in place, the first time or again
	// after it was lost. Events published while it was not are lost: what
	// they would have cleared (cached tokens) must be cleared now.
	Subscribed func()
	// Lost: the subscription was lost (err says why); no event arrives
	// until Subscribed.
	Lost func(err error)
}

// WatchEvents subscribes to [EventsChannel] and calls ev's functions for
// what every process (this one too) publishes there, until ctx ends; then
// it returns ctx's error. It resubscribes after a lost connection (go-redis
// dials again; on Cluster, the node that then holds the channel's slot),
// waiting between attempts, and pings while nothing arrives.
func (s *Store) WatchEvents(ctx context.Context, ev Events) error {
	ps := s.client.Subscribe(ctx, EventsChannel)
	// Closing it ends a receive under way, which does not watch ctx.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()
	lost := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, eventsPing)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !lost && errors.As(err, &ne) && ne.Timeout() {
				if err = ps.Ping(ctx); err == nil {
					continue
				}
			}
			if !lost && ev.Lost != nil {
				ev.Lost(err)
			}
			lost = true
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				lost, backoff = false, 50*time.Millisecond
				if ev.Subscribed != nil {
					ev.Subscribed()
				}
			}
		case *redis.Message:
			dispatchEvent(m.Payload, ev)
		}
	}
}

func dispatchEvent(payload string, ev Events) {
	kind, rest, _ := strings.Cut(payload, " ")
	switch kind {
	case "revoked":
		if org, name, ok := strings.Cut(rest, " "); ok && ev.TokenRevoked != nil {
			ev.TokenRevoked(org, name)
		}
	case "blocked":
		msStr, addr, ok := strings.Cut(rest, " ")
		ms, err := strconv.ParseInt(msStr, 10, 64)
		if ok && err == nil && ms > 0 && ev.AddressBlocked != nil {
			ev.AddressBlocked(addr, time.Duration(ms)*time.Millisecond)
		}
	}
}
