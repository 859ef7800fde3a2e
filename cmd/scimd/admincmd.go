package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/notify"
)

const adminUsage = `usage:
  scimd admin invite --org ORG --email EMAIL --role owner|collaborator [--base-url URL]
                                                       email EMAIL an invitation to administer ORG's console
                                                       (single-use, expiring, as the console's own invitations);
                                                       the way into an existing organization without a console
                                                       session (--base-url, default $SCIM_BASE_URL: the server's
                                                       public URL; mail settings from SCIM_SMTP_* / SCIM_MAIL_*)
takes --redis-url (default $SCIM_REDIS_URL); the embedded store prints a fresh sign-in link
for the default organization's owner at every start instead`

// adminCommand implements "scimd admin invite".
func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "invite" {
		return errors.New(adminUsage)
	}
	fs := flag.NewFlagSet("scimd admin invite", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "the organization")
	email := fs.String("email", "", "the administrator's email address")
	role := fs.String("role", "", "owner or collaborator")
	// The invitation's link needs the public URL, its mail the server's
	// mail settings: the same rows of the settings table as org create.
	var cfg Config
	checkFlags, err := adminFlags(fs, &cfg, getenv, append(settingsOf(&cfg, &cfg.BaseURL), settingsIn(mailSetting)...)...)
	if err != nil {
		return err
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, adminUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)\n%s", fs.Arg(0), adminUsage)
	}
	if err := checkFlags(); err != nil {
		return err
	}
	if err := cfg.validateMail(); err != nil {
		return err
	}
	switch {
	case *org == "" || *email == "" || *role == "":
		return fmt.Errorf("--org, --email and --role are required\n%s", adminUsage)
	case *role != string(resources.RoleOwner) && *role != string(resources.RoleCollaborator):
		return fmt.Errorf("invalid --role %q: want owner or collaborator", *role)
	case cfg.BaseURL == "":
		return errors.New("--base-url (or SCIM_BASE_URL) is required: the server's public URL, which the invitation links to")
	}
	if err := resources.ValidateOrgName(*org); err != nil {
		return err
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
	mailer, where := cfg.mailer()
	admins := resources.NewAdmins(resources.AdminsConfig{Store: store, Notifier: notify.New(cfg.BaseURL, mailer), InviteTTL: cfg.InviteTTL})
	_, err = admins.Invite(ctx, *org, cliOwner(), *email, resources.Role(*role))
	if resources.ErrorCode(err) == resources.Uniqueness {
		// Invited before (perhaps when the mail failed): an administrator
		// who has not chosen a password yet is sent the invitation again.
		return resendAdminInvitation(ctx, stdout, admins, *org, *email, where)
	}
	if err != nil {
		return fmt.Errorf("invite %s: %w (run the same command again to resend it)", *email, err)
	}
	fmt.Fprintf(stdout, "Invited %s to be %s of the console of %q (mail: %s).\n", *email, article(*role), *org, where)
	return nil
}

// resendAdminInvitation sends the administrator email of org, who has no
// password yet, their invitation again.
func resendAdminInvitation(ctx context.Context, stdout io.Writer, admins *resources.Admins, org, email, where string) error {
	list, err := admins.List(ctx, org)
	if err != nil {
		return err
	}
	for _, ad := range list {
		if !strings.EqualFold(ad.Email, strings.TrimSpace(email)) {
			continue
		}
		if ad.HasPassword {
			return fmt.Errorf("%s is already an administrator of %q, with a password: they sign in to the console", ad.Email, org)
		}
		if err := admins.ResendInvitation(ctx, org, cliOwner(), ad.ID); err != nil {
			return fmt.Errorf("resend the invitation of %s: %w", ad.Email, err)
		}
		fmt.Fprintf(stdout, "Sent %s, invited before as %s, the invitation to the console of %q again (mail: %s).\n", ad.Email, article(string(ad.Role)), org, where)
		return nil
	}
	return fmt.Errorf("%s is already an administrator of %q", email, org)
}

// article is a role with its article: "an owner", "a collaborator".
func article(role string) string {
	if role == string(resources.RoleOwner) {
		return "an owner"
	}
	return "a " + role
}
