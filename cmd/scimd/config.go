package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// Config is scimd's configuration, read once by run from flags and the
// environment.
type Config struct {
	// Addr is the listen address (SCIM_ADDR).
	Addr string `validate:"required"`
	// RedisURL selects the store (SCIM_REDIS_URL); empty runs the embedded one.
	RedisURL string `validate:"omitempty,url"`
	// BaseURL is the public URL of the server (SCIM_BASE_URL), used in
	// meta.location and Location. Empty derives it from Addr.
	BaseURL string `validate:"omitempty,url,startswith=http"`
	// BootstrapToken, when set, is the default organization's owner token
	// (SCIM_BOOTSTRAP_TOKEN).
	BootstrapToken string `validate:"omitempty,min=16"`
	// LogLevel is debug, info, warn or error (SCIM_LOG_LEVEL).
	LogLevel string `validate:"oneof=debug info warn error"`
	// MaxBodyBytes limits request bodies (SCIM_MAX_BODY_BYTES).
	MaxBodyBytes int64 `validate:"min=1024"`
	// DebugAddr, when set, serves net/http/pprof there (SCIM_DEBUG_ADDR); keep
	// it on a loopback address.
	DebugAddr string
	// ShutdownTimeout bounds the graceful drain on SIGTERM.
	ShutdownTimeout time.Duration `validate:"min=0"`
}

// settingNames maps Config fields to the setting a user wrote, for messages.
var settingNames = map[string]string{
	"Addr": "SCIM_ADDR (-addr)", "RedisURL": "SCIM_REDIS_URL (-redis-url)", "BaseURL": "SCIM_BASE_URL (-base-url)",
	"BootstrapToken": "SCIM_BOOTSTRAP_TOKEN", "LogLevel": "SCIM_LOG_LEVEL (-log-level)",
	"MaxBodyBytes": "SCIM_MAX_BODY_BYTES (-max-body-bytes)", "DebugAddr": "SCIM_DEBUG_ADDR (-debug-addr)", "ShutdownTimeout": "-shutdown-timeout",
}

// parseConfig reads flags over environment over defaults and validates.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var cfg Config
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Addr, "addr", env("SCIM_ADDR", ":8080"), "listen address")
	fs.StringVar(&cfg.RedisURL, "redis-url", env("SCIM_REDIS_URL", ""), "Redis URL (redis://, rediss://); empty runs the embedded store")
	fs.StringVar(&cfg.BaseURL, "base-url", env("SCIM_BASE_URL", ""), "public base URL, e.g. https://scim.example.com")
	fs.StringVar(&cfg.LogLevel, "log-level", strings.ToLower(env("SCIM_LOG_LEVEL", "info")), "log level: debug, info, warn, error")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", env("SCIM_DEBUG_ADDR", ""), "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long SIGTERM waits for requests to finish")
	if v := getenv("SCIM_MAX_BODY_BYTES"); v != "" {
		if _, err := fmt.Sscan(v, &cfg.MaxBodyBytes); err != nil {
			return Config{}, fmt.Errorf("invalid SCIM_MAX_BODY_BYTES %q: not a number", v)
		}
	}
	cfg.BootstrapToken = getenv("SCIM_BOOTSTRAP_TOKEN")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration and names the setting at fault.
func (c Config) Validate() error {
	err := validator.New().Struct(c)
	if verrs, ok := err.(validator.ValidationErrors); ok && len(verrs) > 0 {
		fe := verrs[0]
		name := settingNames[fe.Field()]
		if fe.Field() == "BootstrapToken" {
			return fmt.Errorf("invalid %s: must be at least 16 characters", name)
		}
		return fmt.Errorf("invalid %s %q: fails %q", name, fmt.Sprint(fe.Value()), fe.Tag())
	}
	if err == nil {
		if _, port, perr := net.SplitHostPort(c.Addr); perr != nil || port == "" {
			return fmt.Errorf("invalid SCIM_ADDR (-addr) %q: want host:port or :port", c.Addr)
		}
	}
	if err == nil && c.RedisURL != "" {
		scheme, _, _ := strings.Cut(c.RedisURL, "://")
		switch scheme {
		case "redis", "rediss", "redis+sentinel", "redis+cluster", "rediss+cluster", "rediss+sentinel":
		default:
			return fmt.Errorf("invalid SCIM_REDIS_URL (-redis-url): scheme %q is not redis:// or rediss://", scheme)
		}
	}
	return err
}

// logLevel maps the configured level name.
func (c Config) logLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}
