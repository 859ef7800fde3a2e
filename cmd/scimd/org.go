package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/notify"
)

// ownerTokenName is the name of the owner token minted with an organization.
const ownerTokenName = "initial-owner"

const orgUsage = `usage:
  scimd org create --name ORG [--owner-email EMAIL --base-url URL] [--display-name NAME]
                                                       create an organization and print its owner token once;
                                                       --owner-email emails its first console owner an invitation
                                                       (--base-url, default $SCIM_BASE_URL: the server's public URL;
                                                       mail settings from SCIM_SMTP_* / SCIM_MAIL_* as the server's)
  scimd org set    --name ORG [--self-registration on|off] [--display-name NAME]
                   [--onboarding invite|none] [--username-format email|any]
                   [--substring-search ATTR,...|none]
                                                       let customers register themselves, or not (default off);
                                                       the name the console and pages show; what customers created
                                                       without passwordSetup get: an invitation, or nothing
                                                       (default none: accountState noPassword); whether userNames
                                                       are email addresses (default) or any login; the attributes
                                                       co and ew filters answer from trigram indexes (memory per
                                                       customer: README "Substring search"; default none)
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
	var cfg Config
	// org create mails an invitation: the link needs the public URL, the
	// mail the server's mail settings.
	var more []setting
	if args[0] == "create" {
		more = append(settingsOf(&cfg, &cfg.BaseURL), settingsIn(mailSetting)...)
	}
	checkFlags, err := adminFlags(fs, &cfg, getenv, more...)
	if err != nil {
		return err
	}
	var selfReg, displayName, ownerEmail, onboarding, userNameFormat, substring *string
	switch args[0] {
	case "show":
	case "create":
		displayName = fs.String("display-name", "", "the organization's name as people read it")
		ownerEmail = fs.String("owner-email", "", "email of the first console owner, who is sent an invitation")
	case "set":
		selfReg = fs.String("self-registration", "", "on or off: whether customers may register themselves at /t/ORG/accounts/register")
		displayName = fs.String("display-name", "", "the organization's name as people read it")
		onboarding = fs.String("onboarding", "", "invite or none: what customers created without passwordSetup get")
		userNameFormat = fs.String("username-format", "", "email or any: the rule of new userNames")
		substring = fs.String("substring-search", "", "the attributes searched by substring from trigram indexes, comma-separated, or none")
	default:
		return fmt.Errorf("unknown org command %q\n%s", args[0], orgUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, orgUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)\n%s", fs.Arg(0), orgUsage)
	}
	if err := checkFlags(); err != nil {
		return err
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
		case "off", "":
		default:
			return fmt.Errorf("invalid --self-registration %q: want on or off", *selfReg)
		}
		if *selfReg == "" && *displayName == "" && *onboarding == "" && *userNameFormat == "" && *substring == "" {
			return fmt.Errorf("nothing to set: give --self-registration on|off, --display-name NAME, --onboarding invite|none, --username-format email|any or --substring-search ATTR,...|none\n%s", orgUsage)
		}
		if *substring != "" {
			if _, err := resources.ParseSubstringSearch(substringList(*substring)); err != nil {
				return fmt.Errorf("invalid --substring-search: %w", err)
			}
		}
		if *onboarding != "" {
			if _, err := resources.ParseOnboarding(*onboarding); err != nil {
				return fmt.Errorf("invalid --onboarding: %w", err)
			}
		}
		if *userNameFormat != "" {
			if _, err := resources.ParseUserNameFormat(*userNameFormat); err != nil {
				return fmt.Errorf("invalid --username-format: %w", err)
			}
		}
	}
	if ownerEmail != nil && *ownerEmail != "" {
		if cfg.BaseURL == "" {
			return errors.New("--owner-email needs --base-url (or SCIM_BASE_URL): the server's public URL, which the invitation links to")
		}
		if err := cfg.validateMail(); err != nil {
			return err
		}
	}
	store, err := openAdminStore(ctx, cfg)
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
		if *displayName != "" {
			if err := resources.NewOrgs(store).SetDisplayName(ctx, *name, cliOwner(), *displayName); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "The name of %q is now %q.\n", *name, *displayName)
		}
		if *onboarding != "" {
			changed, err := store.SetOnboarding(ctx, *name, *onboarding)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Onboarding of %q %s %s: %s.\n", *name, map[bool]string{true: "is now", false: "was already"}[changed], *onboarding, onboardingMeaning(*onboarding))
		}
		if *userNameFormat != "" {
			changed, err := store.SetUserNameFormat(ctx, *name, *userNameFormat)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "The userName format of %q %s %s.\n", *name, map[bool]string{true: "is now", false: "was already"}[changed], *userNameFormat)
		}
		if *substring != "" {
			changed, err := store.SetSubstringSearch(ctx, *name, substringList(*substring))
			if err != nil {
				return err
			}
			settings, err := store.OrgSettings(ctx, *name)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Substring search of %q %s: %s.\n", *name, map[bool]string{true: "is now", false: "was already"}[changed], orNone(settings.SubstringSearch))
			if settings.SubstringPending != "" {
				fmt.Fprintf(stdout, "Trigram entries of %s are still being written or removed; a server resumes the sweep at its start.\n", settings.SubstringPending)
			}
		}
		if *selfReg == "" {
			return nil
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
		fmt.Fprintf(stdout, "organization:       %s\nname:               %s\nself-registration:  %s\nonboarding:         %s\nuserName format:    %s\nsubstring search:   %s\n",
			*name, settings.DisplayName, map[bool]string{true: "on", false: "off"}[settings.SelfRegistration], settings.OnboardingPolicy(), settings.UserNameRule(), orNone(settings.SubstringSearch))
		if settings.SubstringPending != "" {
			fmt.Fprintf(stdout, "  (being built or removed: %s)\n", settings.SubstringPending)
		}
		return nil
	}
	// Everything checked before anything is written: a refused flag
	// leaves no organization behind.
	if *displayName != "" {
		if err := resources.CheckOrgDisplayName(strings.TrimSpace(*displayName)); err != nil {
			return fmt.Errorf("invalid --display-name: %w", err)
		}
	}
	if *ownerEmail != "" {
		if err := resources.CheckAdminEmail(strings.TrimSpace(*ownerEmail)); err != nil {
			return fmt.Errorf("invalid --owner-email: %w", err)
		}
	}
	created, err := store.CreateOrg(ctx, *name)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("organization %q already exists", *name)
	}
	secret := resources.NewTokenSecret(*name)
	if err := store.CreateToken(ctx, resources.NewToken(*name, ownerTokenName, resources.RoleOwner, secret, time.Now().UTC())); err != nil {
		return fmt.Errorf("organization %q was created, but its owner token was not (mint one with: scimd token create --org %s --role owner --name owner): %w",
			*name, *name, err)
	}
	fmt.Fprintf(stdout, "Created organization %q. Its owner token %q (shown once, keep it):\n\n    %s\n\n", *name, ownerTokenName, secret.Reveal())
	if *displayName != "" {
		if err := resources.NewOrgs(store).SetDisplayName(ctx, *name, cliOwner(), *displayName); err != nil {
			return fmt.Errorf("organization %q was created, but not its name (set it with scimd org set --name %s --display-name ...): %w", *name, *name, err)
		}
	}
	if *ownerEmail != "" {
		mailer, where := cfg.mailer()
		admins := resources.NewAdmins(resources.AdminsConfig{Store: store, Notifier: notify.New(cfg.BaseURL, mailer), InviteTTL: cfg.InviteTTL})
		if _, err := admins.Invite(ctx, *name, resources.Admin{}, *ownerEmail, resources.RoleOwner); err != nil {
			return fmt.Errorf("organization %q was created, but its console owner was not invited (send it again with scimd admin invite --org %s --email %s --role owner): %w", *name, *name, *ownerEmail, err)
		}
		fmt.Fprintf(stdout, "Invited %s to be an owner of its console (mail: %s).\n", *ownerEmail, where)
	}
	return nil
}

// onboardingMeaning says what an onboarding policy does, for the CLI's answer.
func onboardingMeaning(policy string) string {
	if policy == resources.OnboardingInvite {
		return "customers created without passwordSetup are emailed an invitation (when they have an address)"
	}
	return "customers created without passwordSetup get no mail (accountState noPassword)"
}

// cliOwner is the command line acting as an owner: whoever can run scimd
// against the store may change any setting.
func cliOwner() resources.Admin { return resources.Admin{Role: resources.RoleOwner} }

// substringList splits a --substring-search value: attributes separated by
// commas, or "none" for none.
func substringList(v string) []string {
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return nil
	}
	return strings.Split(v, ",")
}

// orNone is v, or "none" when it is empty.
func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
