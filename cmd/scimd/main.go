// Command scimd is a SCIM 2.0 provisioning server for an organization's
// customer accounts, stored in Redis.
//
// Usage:
//
//	scimd [serve] [flags]                            run the server
//	scimd org create --name O                        create an organization; print its owner token once
//	scimd org set --name O --self-registration on|off  let customers register themselves (default off)
//	scimd org show --name O                          print an organization's settings
//	scimd token create --org O --role R --name N     mint an API token (printed once; --expires)
//	scimd token list --org O                         list tokens: name, role, format, expiry, last use
//	scimd token rotate --org O --name N              a new secret; the old one works until --previous-expires
//	scimd token revoke --org O --name N              revoke a token (every server refuses it at once;
//	                                                 --previous: only a rotation's previous secret)
//	scimd audit --org O [--count N]                  print the change log (audit trail), newest first
//	scimd check [--org O]                            check the store's consistency; exit 1 on any finding
//	scimd outbox [--dir D] [--count N]               list the development outbox's messages, newest first, with their links
//	scimd version                                    print the module version, VCS revision and Go version
//
// The admin commands take --redis-url (default SCIM_REDIS_URL): they work on
// a Redis, not on the embedded store of a running server.
//
// Configuration comes from flags and the environment (flags win); see
// README.md. Each setting is one row of the settings table (config.go:
// environment variable, flag, default, check, secret or not, help), from
// which serve's parsing and validation, -h, README's configuration tables
// (checked by a test) and the admin commands' -redis-url and org create's
// -base-url and mail settings are all derived. With no Redis URL, scimd runs
// an embedded in-memory store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/scim"
)

// defaultGCPercent is the garbage collector's target when GOGC is unset.
// scimd's live heap is small (a few MB: caches, connection buffers) and each
// request allocates a few kilobytes, so Go's default of 100 collects every
// few hundred requests; 400 costs a few MB more and measured about 5 % more
// throughput on reads (see README, Benchmarks). GOGC overrides it.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		// Process-wide, so set here once, like the signal handling.
		debug.SetGCPercent(defaultGCPercent)
	}
	// go-redis reports connection trouble (failed dials, failovers) through
	// one process-wide logger, in plain text on stderr, where scimd's log is
	// JSON. It takes no logger per client, so it is set here, once. Its lines
	// are warnings whatever the configured level: run reads that later.
	backend.SetLogger(slog.New(scim.ContextHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scimd:", err)
		os.Exit(1)
	}
}

// usage is the overview that -h and "scimd help" print.
const usage = `scimd is a SCIM 2.0 provisioning server for customer accounts, stored in Redis.

usage:
  scimd [serve] [flags]                                run the server (flags below; see README.md, Configuration)
  scimd org create|set|show --name ORG ...            organizations and their settings
  scimd token create|list|rotate|revoke --org ORG ... API tokens
  scimd schema list|add|remove --org ORG ...          custom attributes: the organization's extension schemas for Users
  scimd admin invite --org ORG --email E --role R     invite a console administrator (owner or collaborator) by mail
  scimd audit --org ORG [--count N]                   the change log, newest first
  scimd check [--org ORG]                             check the store's consistency (every organization without --org)
  scimd outbox [--dir DIR] [--count N]                the development outbox's messages, newest first, with their links
  scimd version                                       the build: module version, VCS revision, Go version
  scimd help                                          this text

The org, token, admin, schema, audit and check commands take --redis-url (default $SCIM_REDIS_URL)
and work on a Redis, not on a running server's embedded store; run one with
-h for its usage.
`

// commandUsages are the usages of the commands other than serve.
var commandUsages = map[string]string{"org": orgUsage, "admin": adminUsage, "token": tokenUsage, "schema": schemaUsage, "audit": auditUsage, "check": checkUsage, "outbox": outboxUsage}

// run is the whole program: main only supplies the process's context,
// arguments, environment and output. Asked for help (-h, or "scimd help"),
// it prints the usage and returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	if u, ok := commandUsages[cmd]; ok && len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprintln(stdout, u)
		return nil
	}
	var err error
	switch cmd {
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version":
		if len(args) > 0 {
			return fmt.Errorf("unexpected argument %q: scimd version takes none", args[0])
		}
		versionCommand(stdout)
		return nil
	case "serve":
		err = serve(ctx, args, getenv, stdout, stderr)
	case "token":
		err = tokenCommand(ctx, args, getenv, stdout)
	case "org":
		err = orgCommand(ctx, args, getenv, stdout)
	case "schema":
		err = schemaCommand(ctx, args, getenv, os.Stdin, stdout)
	case "admin":
		err = adminCommand(ctx, args, getenv, stdout)
	case "audit":
		err = auditCommand(ctx, args, getenv, stdout)
	case "check":
		err = checkCommand(ctx, args, getenv, stdout)
	case "outbox":
		err = outboxCommand(args, getenv, stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, org, token, admin, schema, audit, check, outbox, version or help)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		// serve's flag set printed its usage; the others print none.
		if u, ok := commandUsages[cmd]; ok {
			fmt.Fprintln(stdout, u)
		}
		return nil
	}
	return err
}

// isHelpFlag reports whether arg asks for help, as the flag package reads it.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "--h"
}
