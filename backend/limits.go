package backend

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared abuse limits: the counts behind scim's per-token rate, per-address
// failed-authentication and per-address public-form limits, kept in Redis so
// that every scimd process on one deployment enforces one limit, not one
// each. Each decision is one Lua script on one key (atomic, one round trip;
// a token's bucket is leased several requests at a time, see [leasePool])
// and reads the clock with the script's TIME, so that processes whose clocks
// disagree still agree on the limit. Every key expires when it would no
// longer limit anything.
//
// Keys (outside the organizations' "scimd:{<org>}:" prefix, so that
// [Store.Check]'s scan of an organization does not see them):
//
//	scimd:limit:{<org>}:token:<name>   STRING a token's bucket (GCRA: its theoretical arrival time, µs)
//	scimd:limit:{<org>}:leases:<name>  HASH <holder> (units a process leased from that bucket and has not
//	                                   settled yet), <holder>:t (until when, µs, Redis's clock); see
//	                                   [Store.AllowToken]
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

// leaseSrc settles and takes a lease of the token bucket at KEYS[1] (GCRA
// as gcraSrc, the same value, so that processes that take one request at a
// time share the bucket with those that lease), recording leases in the
// hash KEYS[2]. ARGV: interval µs, burst, holder (a process's id), settle
// (units of the holder's leases to settle: spent or given back), unused (of
// them, how many were not spent and go back to the bucket), want (the most
// to take; 0 only settles), keep (µs the record of a lease lasts, so that a
// process that stopped does not keep others waiting). It takes
// min(want, max(1, floor(available/8))): never more than an eighth of what
// is left, one at a time near the end. It returns {granted, wait µs when
// none, units held by unexpired leases (every holder's) when none}.
const leaseSrc = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local holder, settle, unused = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local want, keep = tonumber(ARGV[6]), tonumber(ARGV[7])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if settle > 0 and redis.call('HINCRBY', KEYS[2], holder, -settle) <= 0 then
  redis.call('HDEL', KEYS[2], holder, holder .. ':t')
end
if unused > 0 then tat = math.max(tat - unused * interval, now) end
local granted = 0
if want > 0 then
  local avail = math.floor((now - tat) / interval) + burst
  if avail >= 1 then
    granted = math.min(want, math.max(1, math.floor(avail / 8)))
    tat = tat + granted * interval
    if granted > 1 then
      redis.call('HINCRBY', KEYS[2], holder, granted - 1)
      redis.call('HSET', KEYS[2], holder .. ':t', string.format('%.0f', now + keep))
      redis.call('PEXPIRE', KEYS[2], math.ceil(keep / 1000))
    end
  end
end
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
elseif settle > 0 or unused > 0 then
  redis.call('DEL', KEYS[1])
end
if granted > 0 or want == 0 then return {granted, 0, 0} end
local f = redis.call('HGETALL', KEYS[2])
local m = {}
for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
local held = 0
for k, v in pairs(m) do
  local untl = m[k .. ':t']
  if untl and tonumber(untl) > now then held = held + math.max(tonumber(v), 0) end
end
return {0, math.ceil(tat + interval - burst * interval - now), held}
`

var (
	gcraScript           = newCountScript(gcraSrc)
	leaseScript          = newCountScript(leaseSrc)
	reserveFailureScript = newCountScript(reserveFailureSrc)
	settleFailureScript  = newCountScript(settleFailureSrc)
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

// tokenLeasesKey is the key of the leases taken from the bucket of org's
// token name.
func tokenLeasesKey(org, name string) (string, error) {
	if _, err := prefix(org); err != nil {
		return "", err
	}
	return limitPrefix + "{" + org + "}:leases:" + name, nil
}

// AllowToken takes one request of org's token name from its bucket (rate
// requests per second, burst at once), shared by every process on this
// Redis; when the bucket is empty, ok is false and wait is how long until it
// holds one again.
//
// It asks Redis only every so many requests: a process leases several
// requests from the bucket in one script call and spends them itself (see
// [leasePool]). The bound stays exact: no process spends a request it did
// not take from the bucket, and before a request is refused every process
// that holds unspent requests of the token gives them back.
func (s *Store) AllowToken(ctx context.Context, org, name string, rate float64, burst int) (wait time.Duration, ok bool, err error) {
	if rate <= 0 || burst <= 0 {
		return 0, true, nil
	}
	key, err := tokenLimitKey(org, name)
	if err != nil {
		return 0, false, fmt.Errorf("token rate: %w", err)
	}
	leases, _ := tokenLeasesKey(org, name)
	return s.leases.allow(ctx, s, tokenBucket{key: key, leases: leases, org: org, name: name, interval: math.Ceil(1e6 / rate), burst: burst})
}

// Leases of the token buckets. Asking Redis for every request costs a round
// trip each (measured: GET /Users/{id} throughput roughly halved at 16
// connections); a lease takes several in one, which the process spends
// without asking. The bucket stays exact, because a process spends only what
// it took from it, and leases do not starve the other processes:
//
//   - a lease is at most an eighth of what the bucket holds (one request at a
//     time near the end), and at most what the process has been spending:
//     its size doubles each time the last one ran out within leaseAge, and
//     halves when one outlived it;
//   - what a process did not spend it gives back after leaseAge;
//   - a process that the bucket refuses while leases are held (Redis counts
//     them, per process) asks every process to give back what it holds
//     ("reclaim" on [EventsChannel], which [Store.WatchEvents] answers), and
//     tries again until it gets one or nobody holds any; it waits at most
//     leaseAge+leaseGrace, after which a lease no longer counts (its process
//     stopped, or missed both the event and its timer).
//
// A process that stops loses what it held: the bucket refills it at its
// rate, so that costs the token a little of its burst, never more than the
// bound.
const (
	// leaseAge is how long a process keeps requests it leased before giving
	// back those it did not spend.
	leaseAge = 500 * time.Millisecond
	// leaseGrace: Redis counts a lease as held for leaseAge+leaseGrace, time
	// for the giving back to arrive.
	leaseGrace = 500 * time.Millisecond
	// leaseMax is the most one lease takes, however full the bucket.
	leaseMax = 1024
	// maxLeaseEntries bounds the tokens a process remembers leases of.
	maxLeaseEntries = 10000
)

// tokenBucket names a token's bucket and its settings, as leaseSrc takes them.
type tokenBucket struct {
	key, leases, org, name string
	interval               float64 // µs per request
	burst                  int
}

// leasePool holds the requests this process leased, per token. Its zero
// value is ready to use.
type leasePool struct {
	// age is how long a lease is kept (zero: leaseAge); tests lengthen it.
	age time.Duration

	holderOnce sync.Once
	holder     string // this process's name in the leases' records

	mu     sync.Mutex
	tokens map[string]*tokenLease // by bucket key
}

// tokenLease is what a process holds of one token's bucket.
type tokenLease struct {
	bucket tokenBucket
	// units: leased, not spent yet, this process's to spend.
	units int
	// held: leased beyond the request that took them and not settled in
	// Redis yet (the process's record there counts them); units are some of
	// them.
	held int
	// next is how many to ask for next time; granted is when the last lease
	// came; spent counts the requests spent since the timer was set (none:
	// the token went quiet, and the process forgets it).
	next    int
	granted time.Time
	spent   int
	// timer gives back what is left leaseAge after a lease.
	timer *time.Timer
}

func (p *leasePool) leaseAge() time.Duration {
	if p.age > 0 {
		return p.age
	}
	return leaseAge
}

func (p *leasePool) id() string {
	p.holderOnce.Do(func() {
		var b [8]byte
		_, _ = rand.Read(b[:])
		p.holder = hex.EncodeToString(b[:])
	})
	return p.holder
}

// allow takes one request of b, from this process's lease or from Redis.
func (p *leasePool) allow(ctx context.Context, s *Store, b tokenBucket) (time.Duration, bool, error) {
	holder := p.id()
	interval := strconv.FormatFloat(b.interval, 'f', 0, 64)
	keep := p.leaseAge() + leaseGrace
	var deadline time.Time
	backoff := time.Millisecond
	for {
		want, settle, ok := p.take(b)
		if ok {
			return 0, true, nil
		}
		res, err := leaseScript.Run(ctx, s, []string{b.key, b.leases},
			interval, b.burst, holder, settle, 0, want, keep.Microseconds()).Int64Slice()
		if err == nil && len(res) != 3 {
			err = fmt.Errorf("lease answered %d values", len(res))
		}
		if err != nil {
			p.unsettle(b.key, settle)
			return 0, false, fmt.Errorf("rate limit: redis: %w", err)
		}
		granted, wait, held := int(res[0]), time.Duration(res[1])*time.Microsecond, res[2]
		if granted > 0 {
			p.add(s, b, granted-1)
			return 0, true, nil
		}
		if held == 0 {
			return wait, false, nil
		}
		// Empty, but processes hold leases they may not spend: ask them back,
		// and try again when they may have come.
		if deadline.IsZero() {
			deadline = time.Now().Add(keep)
			_ = s.client.Publish(ctx, EventsChannel, reclaimEvent(b.org, b.name)).Err()
		}
		if time.Now().After(deadline) {
			return wait, false, nil
		}
		select {
		case <-ctx.Done(): // the client left: no answer matters, and no fallback
			return wait, false, nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// take spends one request of b's lease, if any is left (ok). Otherwise it
// says how many to ask Redis for and the spent lease to settle with that
// call, which the caller must hand back with unsettle if the call fails.
func (p *leasePool) take(b tokenBucket) (want, settle int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.tokens[b.key]
	if l == nil {
		if p.tokens == nil {
			p.tokens = map[string]*tokenLease{}
		}
		if len(p.tokens) >= maxLeaseEntries {
			for k, l := range p.tokens {
				if l.held == 0 && l.timer == nil {
					delete(p.tokens, k)
				}
			}
		}
		l = &tokenLease{bucket: b, next: 1}
		p.tokens[b.key] = l
	}
	if l.units > 0 {
		l.units--
		l.spent++
		return 0, 0, true
	}
	want, settle, l.held = l.next, l.held, 0
	if !l.granted.IsZero() && time.Since(l.granted) < p.leaseAge() {
		l.next = min(2*l.next, leaseMax) // it ran out within leaseAge: spending fast
	}
	return want, settle, false
}

// unsettle puts back a settlement that did not reach Redis.
func (p *leasePool) unsettle(key string, settle int) {
	if settle == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.tokens[key]; l != nil {
		l.held += settle
	}
}

// add records a lease of b: one request spent at once, extra to spend.
func (p *leasePool) add(s *Store, b tokenBucket, extra int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.tokens[b.key]
	if l == nil {
		l = &tokenLease{bucket: b, next: 1}
		p.tokens[b.key] = l
	}
	l.granted = time.Now()
	if extra == 0 {
		l.spent++
		return
	}
	l.units += extra
	l.held += extra
	if l.timer == nil {
		l.spent = 0 // the request that took the lease does not count: it came before
		l.timer = time.AfterFunc(p.leaseAge(), func() { p.giveBack(s, b.key, true) })
	} else {
		l.spent++
	}
}

// giveBack settles what this process holds of the bucket at key: the
// requests it did not spend go back. aged: its leaseAge is over (else
// another process asked for it).
func (p *leasePool) giveBack(s *Store, key string, aged bool) {
	p.mu.Lock()
	l := p.tokens[key]
	if l == nil {
		p.mu.Unlock()
		return
	}
	units, held, b := l.units, l.held, l.bucket
	l.units, l.held = 0, 0
	if aged {
		l.timer = nil
		if units > 0 {
			l.next = max(1, l.next/2) // it outlived leaseAge: spending slowly
		}
		if l.spent == 0 {
			delete(p.tokens, key) // quiet: nothing to remember
		}
	}
	p.mu.Unlock()
	if held == 0 && units == 0 {
		return
	}
	// Its own deadline: a timer or an event has no request to wait for.
	ctx, cancel := context.WithTimeout(context.Background(), leaseGrace)
	defer cancel()
	// On failure what was held is lost: the bucket refills it, and its
	// record in Redis expires.
	_ = leaseScript.Run(ctx, s, []string{b.key, b.leases},
		strconv.FormatFloat(b.interval, 'f', 0, 64), b.burst, p.id(), held, units, 0, 0).Err()
}

// reclaim gives back, at another process's request, what this process holds
// of org's token name.
func (p *leasePool) reclaim(s *Store, org, name string) {
	key, err := tokenLimitKey(org, name)
	if err != nil {
		return
	}
	p.mu.Lock()
	l := p.tokens[key]
	holds := l != nil && l.held > 0
	p.mu.Unlock()
	if holds {
		go p.giveBack(s, key, false)
	}
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
	us, err := gcraScript.Run(ctx, s, []string{key}, strconv.FormatFloat(interval, 'f', 0, 64), burst).Int64()
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
	res, err := reserveFailureScript.Run(ctx, s, []string{addressLimitKey("fail", addr)}, limit, window.Milliseconds()).Int64Slice()
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
	res, err := settleFailureScript.Run(ctx, s, []string{addressLimitKey("fail", addr)},
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

// Events of [EventsChannel]: "revoked <org> <name>", "blocked <ms>
// <address>" and "reclaim <org> <name>". Organization and token names hold
// no spaces (resources.ValidateOrgName, ValidateTokenName); an address is
// last, whole.
func revokedEvent(org, name string) string { return "revoked " + org + " " + name }

// reclaimEvent asks every process to give back the requests it leased of
// org's token name (see [leasePool]).
func reclaimEvent(org, name string) string { return "reclaim " + org + " " + name }

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
			if kind, rest, _ := strings.Cut(m.Payload, " "); kind == "reclaim" {
				if org, name, ok := strings.Cut(rest, " "); ok {
					s.leases.reclaim(s, org, name)
				}
				continue
			}
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
