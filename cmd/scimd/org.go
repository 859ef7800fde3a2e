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
  scimd org create --name ORG                          create an organization and print its owner token once
  scimd org set    --name ORG --self-registration on|off   let customers register themselves, or not (default off)
  scimd org show   --name ORG                          print the organization's settings
each takes --redis-url (default $SCIM_REDIS_URL)`

// orgCommand implements "scimd org create|set|show".
func orgCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(orgUsage)
	}
	fs := flag.NewFlagSet("scimd org "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "the organization's name: letters, digits, '.', '_', '-'")
	redisURL := fs.String("redis-url", getenv("SCIM_REDIS_URL"), "Redis URL")
	var selfReg *string
	switch args[0] {
	case "create", "show":
	case "set":
		selfReg = fs.String("self-registration", "", "on or off: whether customers may register themselves at /t/ORG/accounts/register")
	default:
		return fmt.Errorf("unknown org command %q\n%s", args[0], orgUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, orgUsage)
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	if err := resources.ValidateOrgName(*name); err != nil {
		return err
	}
	var on bool
	if selfReg != nil {
		switch *selfReg {
		case "on":
			on = true
		case "off":
		case "":
			return fmt.Errorf("nothing to set: give --self-registration on|off\n%s", orgUsage)
		default:
			return fmt.Errorf("invalid --self-registration %q: want on or off", *selfReg)
		}
	}
	store, err := openAdminStore(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = resources.WithActor(ctx, cliActor)
	switch args[0] {
	case "set":
		if err := requireOrg(ctx, store, *name); err != nil {
			return err
		}
		changed, err := store.SetSelfRegistration(ctx, *name, on)
		if err != nil {
			return err
		}
		state := map[bool]string{true: "on", false: "off"}[on]
		if !changed {
			fmt.Fprintf(stdout, "Self-registration of %q was already %s.\n", *name, state)
			return nil
		}
		fmt.Fprintf(stdout, "Self-registration of %q is now %s.\n", *name, state)
		if on {
			fmt.Fprintf(stdout, "Customers register at /t/%s/accounts/register on the server's public URL.\n", *name)
		}
		return nil
	case "show":
		if err := requireOrg(ctx, store, *name); err != nil {
			return err
		}
		settings, err := store.OrgSettings(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "organization:       %s\nself-registration:  %s\n", *name, map[bool]string{true: "on", false: "off"}[settings.SelfRegistration])
		return nil
	}
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
