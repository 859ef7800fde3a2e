package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
)

// tokenCommand implements "scimd token create".
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: scimd token create --org ORG --role owner|collaborator|reader --name NAME")
	}
	fs := flag.NewFlagSet("scimd token create", flag.ContinueOnError)
	org := fs.String("org", defaultOrg, "organization")
	role := fs.String("role", string(resources.RoleCollaborator), "owner, collaborator or reader")
	name := fs.String("name", "", "a name for the token, shown in logs")
	redisURL := fs.String("redis-url", getenv("SCIM_REDIS_URL"), "Redis URL")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("--name is required")
	}
	if !resources.Role(*role).Valid() {
		return fmt.Errorf("invalid --role %q: want owner, collaborator or reader", *role)
	}
	if *redisURL == "" {
		return fmt.Errorf("SCIM_REDIS_URL (--redis-url) is required: the embedded store lives only inside a running server")
	}
	store, err := backend.Open(ctx, *redisURL)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	secret := resources.NewTokenSecret()
	if err := store.PutToken(ctx, resources.Token{Org: *org, Name: *name, Role: resources.Role(*role),
		Hash: resources.HashToken(secret), Created: time.Now().UTC()}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret.Reveal())
	return nil
}
