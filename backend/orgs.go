package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// orgsKey is the set of known organizations, read by commands and at a
// server's start, never per request (on a Cluster, one slot).
const orgsKey = "scimd:orgs"

// orgCreated is the key, among an organization's own, that says it exists
// (when it was created): what a request reads ([Store.OrgExists]), in the
// organization's slot.
func orgCreated(p string) string { return p + "created" }

// CreateOrg records an organization. It reports whether the organization is
// new, so that first-start set-up (an initial owner token) happens once. The
// name must pass [resources.ValidateOrgName].
//
// The organization is recorded in its own slot first (SET NX, which keeps
// the first creation time), then in the list: a crash between them leaves
// an organization that works and that the next CreateOrg lists, and sets
// up. SADD is sent at most once: resent after its answer was lost, it would
// answer 0 for an organization the first one created, and the set-up would
// never happen. A lost answer is [resources.ErrOutcomeUnknown] instead.
func (s *Store) CreateOrg(ctx context.Context, org string) (bool, error) {
	if err := resources.ValidateOrgName(org); err != nil {
		return false, err
	}
	p, err := prefix(org)
	if err != nil {
		return false, err
	}
	_, ts := now()
	if err := s.write(ctx, redis.NewStatusCmd(ctx, "set", orgCreated(p), ts, "nx")); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("create org %s: redis: %w", org, err)
	}
	cmd := redis.NewCmd(ctx, "sadd", orgsKey, org)
	_ = s.client.Process(ctx, durable{Cmder: noResend{cmd}, key: orgsKey})
	n, err := cmd.Int64()
	if mayHaveRun(err) {
		err = outcomeUnknownError{err}
	}
	if err != nil {
		return false, fmt.Errorf("create org %s: redis: %w", org, err)
	}
	return n == 1, nil
}

// OrgExists reports whether [Store.CreateOrg] recorded org, from the
// organization's own keys: one read in its slot, never the global list.
func (s *Store) OrgExists(ctx context.Context, org string) (bool, error) {
	p, err := prefix(org)
	if err != nil {
		return false, nil
	}
	n, err := s.client.Exists(ctx, orgCreated(p)).Result()
	if err != nil {
		return false, fmt.Errorf("org %s exists: redis: %w", org, err)
	}
	return n == 1, nil
}

// allOrgs is every organization scimd:orgs lists, sorted, each once: the
// list that the commands and the start-up work walk (no request reads it).
func (s *Store) allOrgs(ctx context.Context) ([]string, error) {
	var orgs []string
	iter := s.client.SScan(ctx, orgsKey, 0, "", checkBatch).Iterator()
	for iter.Next(ctx) {
		orgs = append(orgs, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list organizations: redis: %w", err)
	}
	slices.Sort(orgs)
	return slices.Compact(orgs), nil
}

// RecordOrgsInTheirSlots records every organization the list has in its own
// slot, as CreateOrg does now, for organizations created before it did
// (scimd serve calls it at start, the commands before they act), and
// returns how many it recorded. It reads the list, and writes only what is
// missing.
func (s *Store) RecordOrgsInTheirSlots(ctx context.Context) (int, error) {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return 0, err
	}
	_, ts := now()
	recorded := 0
	for _, org := range orgs {
		p, err := prefix(org)
		if err != nil {
			continue // check reports it
		}
		err = s.write(ctx, redis.NewStatusCmd(ctx, "set", orgCreated(p), ts, "nx"))
		switch {
		case err == nil:
			recorded++
		case !errors.Is(err, redis.Nil):
			return recorded, fmt.Errorf("record organization %s in its slot: redis: %w", org, err)
		}
	}
	return recorded, nil
}

// Fields of an organization's settings hash kept by this file (the others
// are in registration.go).
const (
	settingOnboarding     = "onboarding"
	settingUserNameFormat = "userNameFormat"
)

// SetOnboarding sets an organization's onboarding policy for customers
// created without passwordSetup ([resources.OnboardingInvite] or
// [resources.OnboardingNone]) and reports whether that changed it. A change
// is recorded in the change log (type Settings, id onboarding, action
// replace) by [resources.Actor](ctx). Every server reads it at each
// creation, so it applies at once.
func (s *Store) SetOnboarding(ctx context.Context, org, policy string) (bool, error) {
	return s.setNamedSetting(ctx, org, settingOnboarding, policy, resources.ParseOnboarding)
}

// SetUserNameFormat sets the rule of an organization's userNames
// ([schemas.UserNameFormatEmail] or [schemas.UserNameFormatAny]) and reports
// whether that changed it, audited as [Store.SetOnboarding] is. Stored
// userNames are not checked again.
func (s *Store) SetUserNameFormat(ctx context.Context, org, format string) (bool, error) {
	return s.setNamedSetting(ctx, org, settingUserNameFormat, format, resources.ParseUserNameFormat)
}

// setNamedSetting checks value with parse and stores it as the field of
// org's settings.
func (s *Store) setNamedSetting(ctx context.Context, org, field, value string, parse func(string) (string, error)) (bool, error) {
	if _, err := parse(value); err != nil {
		return false, err
	}
	p, err := prefix(org)
	if err != nil {
		return false, fmt.Errorf("set %s of %s: %w", field, org, err)
	}
	changed, err := s.setOrgSetting(ctx, p, field, value)
	s.recent.forget(org)
	if err != nil {
		return false, fmt.Errorf("set %s of %s: %w", field, org, err)
	}
	return changed, nil
}

// RecentSettingsTTL is how long [Store.RecentOrgSettings] keeps an
// organization's settings.
const RecentSettingsTTL = 2 * time.Second

// RecentOrgSettings is [Store.OrgSettings] read at most RecentSettingsTTL
// ago: a creation, which reads the onboarding policy and the userName
// format, then costs no round trip of its own (one HMGET was 10-30 % of a
// creation, BenchmarkHTTPCreateUser). A change made through this Store is
// seen at once; one made elsewhere (another server, the CLI) within
// RecentSettingsTTL.
func (s *Store) RecentOrgSettings(ctx context.Context, org string) (resources.OrgSettings, error) {
	if v, ok := s.recent.get(org, time.Now()); ok {
		return v, nil
	}
	v, err := s.OrgSettings(ctx, org)
	if err != nil {
		return v, err
	}
	s.recent.put(org, v, time.Now())
	return v, nil
}

// recentSettings is RecentOrgSettings' cache: one entry per organization
// read, which stays small (organizations are few and their names bounded).
type recentSettings struct {
	mu sync.Mutex
	m  map[string]recentEntry
}

type recentEntry struct {
	v  resources.OrgSettings
	at time.Time
}

func (c *recentSettings) get(org string, now time.Time) (resources.OrgSettings, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[org]
	if !ok || now.Sub(e.at) >= RecentSettingsTTL {
		return resources.OrgSettings{}, false
	}
	return e.v, true
}

func (c *recentSettings) put(org string, v resources.OrgSettings, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]recentEntry{}
	}
	c.m[org] = recentEntry{v: v, at: now}
}

func (c *recentSettings) forget(org string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, org)
}
