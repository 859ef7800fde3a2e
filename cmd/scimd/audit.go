package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

const auditUsage = `usage:
  scimd audit --org ORG [--count N] [--redis-url URL]   print the change log, newest first`

// auditCommand implements "scimd audit": an organization's change log, newest
// first, one line per change: time, who, action, resource type, resource id.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scimd audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", defaultOrg, "organization")
	count := fs.Int64("count", 100, "how many of the newest changes to print")
	var cfg Config
	checkFlags, err := adminFlags(fs, &cfg, getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, auditUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)\n%s", fs.Arg(0), auditUsage)
	}
	if err := checkFlags(); err != nil {
		return err
	}
	if *count < 1 {
		return errors.New("--count must be at least 1")
	}
	store, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := requireOrg(ctx, store, *org); err != nil {
		return err
	}
	changes, err := store.Changes(ctx, *org, *count)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tWHO\tACTION\tTYPE\tID")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Time.UTC().Format("2006-01-02T15:04:05.000Z"), c.Who, c.Action, c.Type, c.ResourceID)
	}
	return tw.Flush()
}
