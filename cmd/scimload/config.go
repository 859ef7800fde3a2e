package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// config is scimload's configuration, read once by run from flags and the
// environment.
type config struct {
	url             string
	token           string
	redisURL        string
	users           int
	duration        time.Duration
	concurrency     int
	seedConcurrency int
	skipSeed        bool
	// ops, when not empty, names the operations to run (baseline always runs).
	ops []string
	// inProcessBaseline serves the baseline inside the load tool instead of
	// in a process of its own.
	inProcessBaseline bool
}

// parseConfig reads flags over environment over defaults and validates.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("scimload", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.url, "url", "http://localhost:8080/scim/v2", "scimd SCIM base URL")
	// The token's default is filled in after parsing, so that -h never prints it.
	fs.StringVar(&cfg.token, "token", "", "bearer token (default $SCIM_BOOTSTRAP_TOKEN)")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "the Redis scimd uses, for the baseline (default $SCIM_REDIS_URL)")
	fs.IntVar(&cfg.users, "users", 10000, "users to seed and draw from")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each operation runs")
	fs.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent workers per operation")
	fs.IntVar(&cfg.seedConcurrency, "seed-concurrency", 32, "concurrent workers while seeding")
	fs.BoolVar(&cfg.skipSeed, "skip-seed", false, "don't seed; list the users an earlier run seeded")
	fs.BoolVar(&cfg.inProcessBaseline, "baseline-in-process", false, "serve the baseline inside scimload instead of in a process of its own")
	var ops string
	fs.StringVar(&ops, "ops", "", "comma-separated operations to run (default all): get,filter,create,patch,member-add,member-add-lean,list")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if cfg.redisURL == "" {
		cfg.redisURL = getenv("SCIM_REDIS_URL") // after parsing, so that -h never prints it (a password)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.token == "" {
		cfg.token = getenv("SCIM_BOOTSTRAP_TOKEN")
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	if ops != "" {
		cfg.ops = strings.Split(ops, ",")
	}
	return cfg, cfg.validate()
}

// validate names the setting at fault.
func (c config) validate() error {
	switch {
	case !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://"):
		return fmt.Errorf("-url %q: want an http:// or https:// URL", c.url)
	case c.token == "":
		return errors.New("a bearer token is required: set SCIM_BOOTSTRAP_TOKEN or -token")
	case c.redisURL == "":
		return errors.New("the Redis URL is required for the baseline: set SCIM_REDIS_URL or -redis-url")
	case c.users < 1:
		return fmt.Errorf("-users %d: want at least 1", c.users)
	case c.duration <= 0:
		return fmt.Errorf("-duration %s: want more than 0", c.duration)
	case c.concurrency < 1:
		return fmt.Errorf("-concurrency %d: want at least 1", c.concurrency)
	case c.seedConcurrency < 1:
		return fmt.Errorf("-seed-concurrency %d: want at least 1", c.seedConcurrency)
	}
	for _, op := range c.ops {
		if !slices.Contains(operationNames, op) {
			return fmt.Errorf("-ops: unknown operation %q; want some of %s", op, strings.Join(operationNames, ","))
		}
	}
	return nil
}

// redisURLError is err, from parsing a Redis URL, without the URL: a parse
// error quotes it, password and all.
func redisURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
