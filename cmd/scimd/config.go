package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/resources/mail"
	"github.com/scimd/scimd/scim"
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

	// SMTPHost, when set, sends mail (invitations) through this SMTP server
	// (SCIM_SMTP_HOST); otherwise mail goes to the outbox directory.
	SMTPHost string `validate:"omitempty,hostname_rfc1123|ip"`
	// SMTPPort is the SMTP server's port (SCIM_SMTP_PORT), 587 by default.
	SMTPPort int `validate:"min=1,max=65535"`
	// SMTPUsername and SMTPPassword, when set, authenticate with AUTH PLAIN
	// (SCIM_SMTP_USERNAME, SCIM_SMTP_PASSWORD).
	SMTPUsername string
	SMTPPassword resources.Secret `validate:"required_with=SMTPUsername"`
	// SMTPStartTLS is required, optional or off (SCIM_SMTP_STARTTLS).
	SMTPStartTLS string `validate:"oneof=required optional off"`
	// MailFrom is the sender of scimd's mail (SCIM_MAIL_FROM): an address or
	// "Name <address>". Required with SMTPHost.
	MailFrom string
	// MailOutbox is the directory where mail goes when SMTPHost is empty
	// (SCIM_MAIL_OUTBOX): one .eml file per message.
	MailOutbox string
	// InviteTTL is how long an invitation link works (SCIM_INVITE_TTL).
	InviteTTL time.Duration `validate:"min=1m,max=720h"`

	// TokenRate and TokenBurst bound each API token's requests per second
	// (SCIM_TOKEN_RATE, SCIM_TOKEN_BURST); a negative rate turns the limit off.
	TokenRate  float64
	TokenBurst int `validate:"min=0"`
	// AuthFailureLimit failed sign-ins per minute from one address block it
	// (SCIM_AUTH_FAILURE_LIMIT); negative turns the limit off.
	AuthFailureLimit int
	// PublicRate bounds form submissions to the public customer pages per
	// client address and second (SCIM_PUBLIC_RATE); negative turns it off.
	PublicRate float64
	// TrustForwardedFor counts clients by the last X-Forwarded-For address
	// (SCIM_TRUST_FORWARDED_FOR): set it only behind a proxy that appends it.
	TrustForwardedFor bool
}

// defaultMailFrom is the sender of outbox mail when SCIM_MAIL_FROM is unset.
const defaultMailFrom = "scimd <no-reply@localhost>"

// settingNames maps Config fields to the setting a user wrote, for messages.
var settingNames = map[string]string{
	"Addr": "SCIM_ADDR (-addr)", "RedisURL": "SCIM_REDIS_URL (-redis-url)", "BaseURL": "SCIM_BASE_URL (-base-url)",
	"BootstrapToken": "SCIM_BOOTSTRAP_TOKEN", "LogLevel": "SCIM_LOG_LEVEL (-log-level)",
	"MaxBodyBytes": "SCIM_MAX_BODY_BYTES (-max-body-bytes)", "DebugAddr": "SCIM_DEBUG_ADDR (-debug-addr)", "ShutdownTimeout": "-shutdown-timeout",
	"SMTPHost": "SCIM_SMTP_HOST (-smtp-host)", "SMTPPort": "SCIM_SMTP_PORT (-smtp-port)", "SMTPUsername": "SCIM_SMTP_USERNAME",
	"SMTPPassword": "SCIM_SMTP_PASSWORD", "SMTPStartTLS": "SCIM_SMTP_STARTTLS (-smtp-starttls)", "MailFrom": "SCIM_MAIL_FROM (-mail-from)",
	"MailOutbox": "SCIM_MAIL_OUTBOX (-mail-outbox)", "InviteTTL": "SCIM_INVITE_TTL (-invite-ttl)",
	"TokenBurst": "SCIM_TOKEN_BURST (-token-burst)",
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
	if err := limitFlags(fs, &cfg, getenv); err != nil {
		return Config{}, err
	}
	if err := mailFlags(fs, &cfg, env); err != nil {
		return Config{}, err
	}
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
		switch fe.Field() {
		case "BootstrapToken":
			return fmt.Errorf("invalid %s: must be at least 16 characters", name)
		case "SMTPPassword": // never quote a secret
			return fmt.Errorf("%s is required with SCIM_SMTP_USERNAME", name)
		case "SMTPStartTLS":
			return fmt.Errorf("invalid %s %q: want required, optional or off", name, c.SMTPStartTLS)
		case "SMTPPort":
			return fmt.Errorf("invalid %s %d: want a port from 1 to 65535", name, c.SMTPPort)
		case "RedisURL": // may hold a password: show it redacted
			return fmt.Errorf("invalid %s %s: want a URL such as redis://:password@host:6379/0", name, redactedURL(c.RedisURL))
		case "BaseURL":
			return fmt.Errorf("invalid %s %s: want a URL such as https://scim.example.com", name, redactedURL(c.BaseURL))
		case "InviteTTL":
			return fmt.Errorf("invalid %s %s: want from 1m to 720h (30 days)", name, c.InviteTTL)
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
	if err == nil {
		err = c.validateMail()
	}
	return err
}

// redactedURL shows a URL from the configuration without its password, or
// not at all when it does not parse.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return strconv.Quote(u.Redacted())
	}
	return "(not shown: it does not parse, and may hold a password)"
}

// mailFlags declares the mail settings: flags over environment over defaults.
func mailFlags(fs *flag.FlagSet, cfg *Config, env func(k, def string) string) error {
	tmp := env("TMPDIR", os.TempDir())
	fs.StringVar(&cfg.SMTPHost, "smtp-host", env("SCIM_SMTP_HOST", ""), "SMTP server for invitation mail; empty writes mail to the outbox")
	fs.StringVar(&cfg.SMTPStartTLS, "smtp-starttls", strings.ToLower(env("SCIM_SMTP_STARTTLS", string(mail.StartTLSRequired))), "STARTTLS: required, optional or off")
	fs.StringVar(&cfg.MailFrom, "mail-from", env("SCIM_MAIL_FROM", ""), "sender of scimd's mail, e.g. \"Acme <no-reply@acme.com>\"")
	fs.StringVar(&cfg.MailOutbox, "mail-outbox", env("SCIM_MAIL_OUTBOX", filepath.Join(tmp, "scimd-outbox")), "directory for mail when no SMTP server is set")
	cfg.SMTPUsername = env("SCIM_SMTP_USERNAME", "")
	cfg.SMTPPassword = resources.Secret(env("SCIM_SMTP_PASSWORD", ""))
	port := 587
	if v := env("SCIM_SMTP_PORT", ""); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid SCIM_SMTP_PORT %q: not a number", v)
		}
		port = p
	}
	fs.IntVar(&cfg.SMTPPort, "smtp-port", port, "SMTP server port")
	ttl := 72 * time.Hour
	if v := env("SCIM_INVITE_TTL", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid SCIM_INVITE_TTL %q: want a duration such as 72h or 30m", v)
		}
		ttl = d
	}
	fs.DurationVar(&cfg.InviteTTL, "invite-ttl", ttl, "how long an invitation link works")
	return nil
}

// validateMail checks what the validator tags cannot say.
func (c Config) validateMail() error {
	if c.SMTPHost != "" && c.MailFrom == "" {
		return errors.New("SCIM_MAIL_FROM (-mail-from) is required with SCIM_SMTP_HOST: the sender of invitation mail, e.g. \"Acme <no-reply@acme.com>\"")
	}
	if c.MailFrom != "" {
		if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
			return fmt.Errorf("invalid SCIM_MAIL_FROM (-mail-from) %q: want an address such as no-reply@acme.com or \"Acme <no-reply@acme.com>\"", c.MailFrom)
		}
	}
	if c.SMTPHost != "" && c.SMTPUsername != "" && c.SMTPStartTLS == string(mail.StartTLSOff) && !isLoopback(c.SMTPHost) {
		return errors.New("SCIM_SMTP_STARTTLS (-smtp-starttls) off with SCIM_SMTP_USERNAME would send the SMTP password in clear text: use required or optional, or a relay on localhost")
	}
	if c.SMTPHost == "" && c.MailOutbox == "" {
		return errors.New("SCIM_MAIL_OUTBOX (-mail-outbox) is empty and no SCIM_SMTP_HOST is set: mail has nowhere to go")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mailer returns where scimd's mail goes and a description for the start-up
// message: the SMTP server when one is set, else the outbox directory.
func (c Config) mailer() (resources.Mailer, string) {
	if c.SMTPHost != "" {
		m := &mail.SMTP{Host: c.SMTPHost, Port: c.SMTPPort, StartTLS: mail.StartTLS(c.SMTPStartTLS),
			Username: c.SMTPUsername, Password: c.SMTPPassword, From: c.MailFrom}
		return m, fmt.Sprintf("sending mail through SMTP %s (STARTTLS %s)", net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort)), c.SMTPStartTLS)
	}
	from := c.MailFrom
	if from == "" {
		from = defaultMailFrom
	}
	return &mail.Outbox{Dir: c.MailOutbox, From: from},
		fmt.Sprintf("writing mail to the outbox %s, not sending it (set SCIM_SMTP_HOST to send)", c.MailOutbox)
}

// logLevel maps the configured level name.
func (c Config) logLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// limitFlags declares the abuse-limit settings, defaulting from the
// environment; a malformed environment value is an error naming it.
func limitFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	rate, burst, failures, public := float64(scim.DefaultTokenRate), scim.DefaultTokenBurst, scim.DefaultAuthFailureLimit, scim.DefaultPublicRate
	trust := false
	for _, v := range []struct {
		name string
		dst  any
	}{
		{"SCIM_TOKEN_RATE", &rate}, {"SCIM_TOKEN_BURST", &burst}, {"SCIM_AUTH_FAILURE_LIMIT", &failures},
		{"SCIM_PUBLIC_RATE", &public}, {"SCIM_TRUST_FORWARDED_FOR", &trust},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		var err error
		switch d := v.dst.(type) {
		case *float64:
			*d, err = strconv.ParseFloat(s, 64)
		case *int:
			*d, err = strconv.Atoi(s)
		case *bool:
			*d, err = strconv.ParseBool(s)
		}
		if err != nil {
			return fmt.Errorf("invalid %s %q: not a %T", v.name, s, reflect.ValueOf(v.dst).Elem().Interface())
		}
	}
	fs.Float64Var(&cfg.TokenRate, "token-rate", rate, "requests per second per API token (negative: no limit)")
	fs.IntVar(&cfg.TokenBurst, "token-burst", burst, "burst of requests per API token")
	fs.IntVar(&cfg.AuthFailureLimit, "auth-failure-limit", failures, "failed sign-ins per minute that block an address (negative: no limit)")
	fs.Float64Var(&cfg.PublicRate, "public-rate", public, "form submissions per second per address on the customer pages (negative: no limit)")
	fs.BoolVar(&cfg.TrustForwardedFor, "trust-forwarded-for", trust, "count clients by X-Forwarded-For (only behind a proxy that appends it)")
	return nil
}
