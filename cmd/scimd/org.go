package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/scimd/scimd/resources"
)

// ownerTokenName is the name of the owner token minted with an organization.
const ownerTokenName = "initial-owner"

const orgUsage = `usage:
  scimd org create --name ORG [--redis-url URL]   create an organization and print its owner token once`

// orgCommand implements "scimd org create".
func orgCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(orgUsage)
	}
	fs := flag.NewFlagSet("scimd org create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "the organization's name: letters, digits, '.', '_', '-'")
	redisURL := fs.String("redis-url", getenv("SCIM_REDIS_URL"), "Redis URL")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, orgUsage)
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	if err := resources.ValidateOrgName(*name); err != nil {
		return err
	}
	store, err := openAdminStore(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = resources.WithActor(ctx, cliActor)
	created, err := store.CreateOrg(ctx, *name)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("organization %q already exists", *name)
	}
	secret := resources.NewTokenSecret()
	if err := store.CreateToken(ctx, resources.Token{Org: *name, Name: ownerTokenName, Role: resources.RoleOwner,
		Hash: resources.HashToken(secret), Created: time.Now().UTC()}); err != nil {
		return fmt.Errorf("organization %q was created, but its owner token was not (mint one with: scimd token create --org %s --role owner --name owner): %w",
			*name, *name, err)
	}
	fmt.Fprintf(stdout, "Created organization %q. Its owner token %q (shown once, keep it):\n\n    %s\n\n", *name, ownerTokenName, secret.Reveal())
	return nil
}
