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
)

// cliActor is who the audit trail names for changes made with the scimd
// command: whoever can run it can reach Redis, so there is no finer identity
// to record.
const cliActor = "cli"

const tokenUsage = `usage:
  scimd token create --org ORG --role owner|collaborator|reader --name NAME   mint a token (printed once)
                     [--onboarding invite|none]                            the customers it creates without passwordSetup:
                                                                           invited or not, whatever the organization's policy
  scimd token list   --org ORG                                               list tokens: name, role, created
  scimd token revoke --org ORG --name NAME                                   revoke a token
each takes --redis-url (default $SCIM_REDIS_URL)`

// tokenCommand implements "scimd token create|list|revoke".
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	fs := flag.NewFlagSet("scimd token "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", defaultOrg, "organization")
	redisURL := fs.String("redis-url", getenv("SCIM_REDIS_URL"), "Redis URL")
	var role, name, onboarding *string
	switch args[0] {
	case "create":
		role = fs.String("role", string(resources.RoleCollaborator), "owner, collaborator or reader")
		name = fs.String("name", "", "a name for the token, unique in the organization, shown in logs and the audit trail")
		onboarding = fs.String("onboarding", "", "invite or none: overrides the organization's onboarding policy for the customers this token creates")
	case "revoke":
		name = fs.String("name", "", "the token's name")
	case "list":
	default:
		return fmt.Errorf("unknown token command %q\n%s", args[0], tokenUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, tokenUsage)
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
	store, err := openAdminStore(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = resources.WithActor(ctx, cliActor)
	switch args[0] {
	case "create":
		if err := requireOrg(ctx, store, *org); err != nil {
			return err
		}
		secret := resources.NewTokenSecret()
		if err := store.CreateToken(ctx, resources.Token{Org: *org, Name: *name, Role: resources.Role(*role),
			Hash: resources.HashToken(secret), Created: time.Now().UTC(), Onboarding: *onboarding}); err != nil {
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
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.Created.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if err := store.RevokeToken(ctx, *org, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked token %q of organization %q. Running servers stop accepting it within %s (their token cache).\n",
			*name, *org, tokenCacheTTL)
	}
	return nil
}

// openAdminStore opens the store an admin command works on: a Redis, never
// the embedded store, which lives only inside a running server.
func openAdminStore(ctx context.Context, redisURL string) (*backend.Store, error) {
	if redisURL == "" {
		return nil, errors.New("SCIM_REDIS_URL (--redis-url) is required: the embedded store lives only inside a running server")
	}
	store, err := backend.Open(ctx, redisURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// requireOrg fails unless org was created, so that a mistyped --org does not
// mint a token for an organization nobody uses.
func requireOrg(ctx context.Context, store *backend.Store, org string) error {
	ok, err := store.OrgExists(ctx, org)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("organization %q does not exist; create it with: scimd org create --name %s", org, org)
	}
	return nil
}
