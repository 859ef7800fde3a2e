package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/scimd/scimd/backend"
)

const checkUsage = `usage:
  scimd check [--org ORG]     check an organization's store (every organization without --org):
                              each document against its indexes, uniqueness entries, memberships
                              (both sides), ordering set and pending links, and the tokens;
                              prints one line per disagreement (key and id, never a value or a
                              secret) and exits with status 1 if there is any
takes --redis-url (default $SCIM_REDIS_URL)`

// checkCommand implements "scimd check": it reads the store, changes
// nothing, and fails when it found a disagreement.
func checkCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scimd check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "the organization to check (default: every organization)")
	var cfg Config
	checkFlags, err := adminFlags(fs, &cfg, getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, checkUsage)
	}
	if err := checkFlags(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), checkUsage)
	}
	if cfg.RedisURL == "" {
		return fmt.Errorf("%s is required: scimd check reads a Redis; the embedded store lives only inside a running server, and cannot be checked", nameOf(&cfg, &cfg.RedisURL))
	}
	store, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	findings := 0
	summary := func(org string, st backend.CheckStats) {
		fmt.Fprintf(stdout, "checked %s: %d users, %d groups, %d memberships, %d administrators, %d keys: %s\n",
			org, st.Users, st.Groups, st.Memberships, st.Admins, st.Keys, findingsOf(st.Findings))
		if st.PendingGroupDeletes > 0 {
			// Work left, not a disagreement: a server resumes it.
			fmt.Fprintf(stdout, "pending %s: %d deleted groups' memberships are still being ended (scimd serve finishes them when it starts)\n",
				org, st.PendingGroupDeletes)
		}
		if st.PendingGroupReplacements > 0 {
			fmt.Fprintf(stdout, "pending %s: %d groups' replaced members' memberships are still being ended (scimd serve finishes them when it starts, and the group's next write)\n",
				org, st.PendingGroupReplacements)
		}
		if st.PendingPurges > 0 {
			fmt.Fprintf(stdout, "pending %s: %d removed custom schemas or attributes' values are still being purged (scimd serve resumes it when it starts, and at the next schema change)\n",
				org, st.PendingPurges)
		}
		if st.PendingUpgrade {
			fmt.Fprintf(stdout, "pending %s: keys of an earlier version are still being converted (scimd serve does it when it starts)\n", org)
		}
	}
	if *org != "" {
		if err := requireOrg(ctx, store, *org); err != nil {
			return err
		}
		st, err := store.Check(ctx, *org, func(f backend.Finding) {
			findings++
			fmt.Fprintln(stdout, f)
		})
		if err != nil {
			return err
		}
		summary(*org, st)
	} else {
		orgs := 0
		err := store.CheckAll(ctx, func(_ string, f backend.Finding) {
			findings++
			fmt.Fprintln(stdout, f)
		}, func(org string, st backend.CheckStats) {
			orgs++
			summary(org, st)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "checked %d organizations and the tokens\n", orgs)
	}
	if findings > 0 {
		return fmt.Errorf("check: %s: the store disagrees with itself (see README, Operations)", findingsOf(findings))
	}
	return nil
}

// findingsOf says how many findings there are.
func findingsOf(n int) string {
	if n == 1 {
		return "1 finding"
	}
	return fmt.Sprintf("%d findings", n)
}
