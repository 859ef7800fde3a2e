package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

const schemaUsage = `usage:
  scimd schema list   --org ORG                        the organization's custom schemas (custom attributes of Users)
  scimd schema add    --org ORG --file F [--replace]   define one from F (RFC 7643 §7 JSON, as /Schemas shows it;
                                                       "-" reads stdin); --replace replaces the schema of that id
  scimd schema remove --org ORG --urn URN              remove one: its attributes vanish, their values are purged
each takes --redis-url (default $SCIM_REDIS_URL)`

// schemaCommand implements "scimd schema list|add|remove".
func schemaCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(schemaUsage)
	}
	fs := flag.NewFlagSet("scimd schema "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "the organization")
	var cfg Config
	checkFlags, err := adminFlags(fs, &cfg, getenv)
	if err != nil {
		return err
	}
	var file, urn *string
	var replace *bool
	switch args[0] {
	case "list":
	case "add":
		file = fs.String("file", "", "the definition's JSON file; - for stdin")
		replace = fs.Bool("replace", false, "replace the schema of the definition's id")
	case "remove":
		urn = fs.String("urn", "", "the schema's URN")
	default:
		return fmt.Errorf("unknown schema command %q\n%s", args[0], schemaUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, schemaUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)\n%s", fs.Arg(0), schemaUsage)
	}
	if err := checkFlags(); err != nil {
		return err
	}
	if *org == "" {
		return errors.New("--org is required")
	}
	var data []byte
	if file != nil {
		var err error
		switch *file {
		case "":
			return errors.New("--file is required: the definition's JSON (- for stdin)")
		case "-":
			data, err = io.ReadAll(io.LimitReader(stdin, schemas.MaxDefinitionBytes+1))
		default:
			data, err = os.ReadFile(*file)
		}
		if err != nil {
			return fmt.Errorf("read the definition: %w", err)
		}
	}
	if urn != nil && *urn == "" {
		return errors.New("--urn is required")
	}
	store, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := requireOrg(ctx, store, *org); err != nil {
		return err
	}
	ctx = resources.WithActor(ctx, cliActor)
	users := resources.NewUsers(store)
	switch args[0] {
	case "list":
		defs, purging, err := users.Extensions(ctx, *org)
		if err != nil {
			return err
		}
		if len(defs) == 0 {
			fmt.Fprintf(stdout, "%q has no custom schemas.\n", *org)
		}
		for _, d := range defs {
			var names []string
			for _, a := range d.Attributes {
				names = append(names, a.Name+" ("+a.Type+")")
			}
			fmt.Fprintf(stdout, "%s  %s\n    %s\n", d.ID, d.Name, strings.Join(names, ", "))
		}
		for _, t := range purging {
			fmt.Fprintf(stdout, "being purged: %s\n", t.FullName())
		}
		return nil
	case "add":
		replaceURN := ""
		if *replace {
			d, err := schemas.ParseDefinition(data)
			if err != nil {
				return err
			}
			replaceURN = d.ID
		}
		d, err := users.DefineExtension(ctx, *org, data, replaceURN)
		if err != nil {
			return err
		}
		verb := "Added"
		if *replace {
			verb = "Replaced"
		}
		fmt.Fprintf(stdout, "%s custom schema %s of %q (%d attributes). Clients see it at /Schemas/%s.\n", verb, d.ID, *org, len(d.Attributes), d.ID)
		return nil
	}
	if err := users.RemoveExtension(ctx, *org, *urn); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Removed custom schema %s of %q: its values are purged.\n", *urn, *org)
	return nil
}
