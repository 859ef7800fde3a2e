package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// cliActor is who the audit trail names for changes made with the scimd
// command: whoever can run it can reach Redis, so there is no finer identity
// to record.
const cliActor = "cli"

const tokenUsage = `usage:
  scimd token create --org ORG --role owner|collaborator|reader --name NAME [--expires WHEN] [--onboarding invite|none]
        mint a token (printed once); --onboarding: the customers it creates without passwordSetup are
        invited, or not, whatever the organization's policy
  scimd token list   --org ORG
        list tokens: name, role, format, created, expiry, last use, a rotation's previous secret (until, last use)
  scimd token rotate --org ORG --name NAME [--expires WHEN] [--previous-expires WHEN]
        give a token a new secret (printed once); the old one works until --previous-expires (default 168h)
  scimd token revoke --org ORG --name NAME [--previous]
        revoke a token (both secrets), or with --previous only the secret its rotation replaced
WHEN is an RFC 3339 time (2027-01-31T00:00:00Z) or a duration from now (720h).
each takes --redis-url (default $SCIM_REDIS_URL)`

// tokenCommand implements "scimd token create|list|rotate|revoke".
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	fs := flag.NewFlagSet("scimd token "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", defaultOrg, "organization")
	var cfg Config
	checkFlags, err := adminFlags(fs, &cfg, getenv)
	if err != nil {
		return err
	}
	var role, name, expires, previousExpires, onboarding *string
	var previous *bool
	switch args[0] {
	case "create":
		role = fs.String("role", string(resources.RoleCollaborator), "owner, collaborator or reader")
		name = fs.String("name", "", "a name for the token, unique in the organization, shown in logs and the audit trail")
		onboarding = fs.String("onboarding", "", "invite or none: overrides the organization's onboarding policy for the customers this token creates")
		expires = fs.String("expires", "", "when the token stops working: RFC 3339 time or duration from now; default never")
	case "rotate":
		name = fs.String("name", "", "the token's name")
		expires = fs.String("expires", "", "when the new secret stops working: RFC 3339 time or duration from now; default never")
		previousExpires = fs.String("previous-expires", "", "when the replaced secret stops working: RFC 3339 time or duration from now")
	case "revoke":
		name = fs.String("name", "", "the token's name")
		previous = fs.Bool("previous", false, "revoke only the secret the token's last rotation replaced")
	case "list":
	default:
		return fmt.Errorf("unknown token command %q\n%s", args[0], tokenUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, tokenUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)\n%s", fs.Arg(0), tokenUsage)
	}
	if err := checkFlags(); err != nil {
		return err
	}
	if name != nil && *name == "" {
		return errors.New("--name is required")
	}
	if role != nil && !resources.Role(*role).Valid() {
		return fmt.Errorf("invalid --role %q: want owner, collaborator or reader", *role)
	}
	if onboarding != nil && *onboarding != "" {
		if _, err := resources.ParseOnboarding(*onboarding); err != nil {
			return fmt.Errorf("invalid --onboarding: %w", err)
		}
	}
	now := time.Now().UTC()
	var expiresAt, previousExpiresAt time.Time
	if expires != nil {
		var err error
		if expiresAt, err = parseWhen("--expires", *expires, now); err != nil {
			return err
		}
	}
	if previousExpires != nil {
		var err error
		if previousExpiresAt, err = parseWhen("--previous-expires", *previousExpires, now); err != nil {
			return err
		}
		if previousExpiresAt.IsZero() {
			previousExpiresAt = now.Add(scim.DefaultRotationOverlap)
		}
	}
	store, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = resources.WithActor(ctx, cliActor)
	if err := requireOrg(ctx, store, *org); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		secret := resources.NewTokenSecret(*org)
		t := resources.NewToken(*org, *name, resources.Role(*role), secret, now)
		t.Expires = expiresAt
		t.Onboarding = *onboarding
		if err := store.CreateToken(ctx, t); err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret.Reveal())
	case "list":
		tokens, err := store.ListTokens(ctx, *org)
		if err != nil {
			return err
		}
		// Never the secret (not stored) nor the hash: the hash is not
		// secret-equivalent, but nobody needs it and it names the token in
		// the store.
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		// PREVIOUS: the secret a rotation replaced, until when it works
		// and when it was last used (still in use: the identity provider
		// has not been moved to the new secret yet).
		fmt.Fprintln(tw, "NAME\tROLE\tFORMAT\tCREATED\tEXPIRES\tLAST USED\tPREVIOUS UNTIL\tPREVIOUS USED")
		for _, t := range tokens {
			prevUntil, prevUsed := "-", "-"
			if t.Previous != nil {
				prevUntil, prevUsed = when(t.Previous.Expires, "never"), when(t.Previous.LastUsed, "never")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, map[bool]string{true: "org-scoped", false: "legacy"}[t.Scoped],
				when(t.Created, "-"), when(t.Expires, "never"), when(t.LastUsed, "never"), prevUntil, prevUsed)
		}
		return tw.Flush()
	case "rotate":
		secret := resources.NewTokenSecret(*org)
		if _, err := store.RotateToken(ctx, *org, *name, resources.Rotation{Hash: resources.HashToken(secret),
			Created: now, Expires: expiresAt, PreviousExpires: previousExpiresAt}); err != nil {
			return err
		}
		// The secret alone, as create prints it, for scripts; token list
		// shows until when the previous one works.
		fmt.Fprintln(stdout, secret.Reveal())
	case "revoke":
		if *previous {
			if err := store.RevokePreviousToken(ctx, *org, *name); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Revoked the previous secret of token %q of organization %q. Running servers refuse it at once (Redis pub/sub tells them); one that cannot hear it, within %s (its token cache).\n",
				*name, *org, tokenCacheTTL)
			return nil
		}
		if err := store.RevokeToken(ctx, *org, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked token %q of organization %q. Running servers refuse it at once (Redis pub/sub tells them); one that cannot hear it, within %s (its token cache).\n",
			*name, *org, tokenCacheTTL)
	}
	return nil
}

// parseWhen reads a time flag: an RFC 3339 time or a duration from now; ""
// is the zero time. It must be in the future.
func parseWhen(flagName, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return time.Time{}, fmt.Errorf("invalid %s %q: want an RFC 3339 time (2027-01-31T00:00:00Z) or a duration from now (720h)", flagName, v)
		}
		t = now.Add(d)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%s %s is not in the future", flagName, t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// when formats t for a listing, or none when t is zero.
func when(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// openAdminStore opens the store an admin command works on: a Redis, never
// the embedded store, which lives only inside a running server.
func openAdminStore(ctx context.Context, cfg Config) (*backend.Store, error) {
	if cfg.RedisURL == "" {
		return nil, fmt.Errorf("%s is required: the embedded store lives only inside a running server", nameOf(&cfg, &cfg.RedisURL))
	}
	store, err := backend.Open(ctx, cfg.RedisURL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// requireOrg fails unless org was created, so that a mistyped --org does not
// mint a token for an organization nobody uses.
func requireOrg(ctx context.Context, store *backend.Store, org string) error {
	ok, err := store.OrgExists(ctx, org)
	if err == nil && !ok {
		// Created before organizations were recorded in their own slots?
		var n int
		if n, err = store.RecordOrgsInTheirSlots(ctx); err == nil && n > 0 {
			ok, err = store.OrgExists(ctx, org)
		}
	}
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("organization %q does not exist; create it with: scimd org create --name %s", org, org)
	}
	return nil
}
