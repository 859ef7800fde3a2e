package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

// badSettings holds, for every setting, a value that start-up must refuse
// with a message naming the setting.
var badSettings = map[string]struct {
	env  map[string]string
	args []string
}{
	"SCIM_ADDR":                {env: map[string]string{"SCIM_ADDR": "localhost"}},
	"SCIM_REDIS_URL":           {env: map[string]string{"SCIM_REDIS_URL": "http://localhost:6379"}},
	"SCIM_BASE_URL":            {env: map[string]string{"SCIM_BASE_URL": "not a url"}},
	"SCIM_BOOTSTRAP_TOKEN":     {env: map[string]string{"SCIM_BOOTSTRAP_TOKEN": "short"}},
	"SCIM_LOG_LEVEL":           {env: map[string]string{"SCIM_LOG_LEVEL": "loud"}},
	"SCIM_SELF_REGISTRATION":   {env: map[string]string{"SCIM_SELF_REGISTRATION": "yes"}},
	"SCIM_OWNER_EMAIL":         {env: map[string]string{"SCIM_OWNER_EMAIL": "boss"}},
	"SCIM_MAX_BODY_BYTES":      {env: map[string]string{"SCIM_MAX_BODY_BYTES": "2000abc"}},
	"SCIM_DEBUG_ADDR":          {env: map[string]string{"SCIM_DEBUG_ADDR": "6060"}},
	"SCIM_SHUTDOWN_TIMEOUT":    {env: map[string]string{"SCIM_SHUTDOWN_TIMEOUT": "soon"}},
	"SCIM_SMTP_HOST":           {env: map[string]string{"SCIM_SMTP_HOST": "smtp example.com", "SCIM_MAIL_FROM": "a@b.example"}},
	"SCIM_SMTP_PORT":           {env: map[string]string{"SCIM_SMTP_PORT": "70000"}},
	"SCIM_SMTP_STARTTLS":       {env: map[string]string{"SCIM_SMTP_STARTTLS": "maybe"}},
	"SCIM_SMTP_TLS":            {env: map[string]string{"SCIM_SMTP_TLS": "ssl"}},
	"SCIM_SMTP_USERNAME":       {env: map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "a@b.example", "SCIM_SMTP_USERNAME": "u"}},
	"SCIM_SMTP_PASSWORD":       {env: map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "a@b.example", "SCIM_SMTP_USERNAME": "u"}},
	"SCIM_MAIL_FROM":           {env: map[string]string{"SCIM_MAIL_FROM": "not an address"}},
	"SCIM_MAIL_OUTBOX":         {args: []string{"-mail-outbox", ""}},
	"SCIM_INVITE_TTL":          {env: map[string]string{"SCIM_INVITE_TTL": "3 days"}},
	"SCIM_AUTH_FAILURE_LIMIT":  {env: map[string]string{"SCIM_AUTH_FAILURE_LIMIT": "many"}},
	"SCIM_TOKEN_RATE":          {env: map[string]string{"SCIM_TOKEN_RATE": "NaN"}},
	"SCIM_TOKEN_BURST":         {env: map[string]string{"SCIM_TOKEN_BURST": "-1"}},
	"SCIM_PUBLIC_RATE":         {env: map[string]string{"SCIM_PUBLIC_RATE": "Inf"}},
	"SCIM_TRUST_FORWARDED_FOR": {env: map[string]string{"SCIM_TRUST_FORWARDED_FOR": "perhaps"}},
	"SCIM_REDIS_WAIT_REPLICA":  {env: map[string]string{"SCIM_REDIS_WAIT_REPLICA": "1 second"}},
}

// TestEverySettingIsValidated: each setting has a bad value that stops
// start-up with a message naming it.
func TestEverySettingIsValidated(t *testing.T) {
	for _, s := range settings {
		bad, ok := badSettings[s.env]
		if !ok {
			t.Errorf("%s has no bad value in badSettings", s.env)
			continue
		}
		err := run(context.Background(), bad.args, func(k string) string { return bad.env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), s.env) {
			t.Errorf("%s: run with %v %q = %v, want an error naming %s", s.env, bad.env, bad.args, err, s.env)
		}
	}
	for name := range badSettings {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == name }) {
			t.Errorf("badSettings has %s, which is no setting", name)
		}
	}
}

var update = flag.Bool("update", false, "rewrite README.md's configuration tables from the settings")

// TestREADMEConfiguration: README.md's two configuration tables are the
// settings table's rows (go test ./cmd/scimd -run README -update rewrites
// them).
func TestREADMEConfiguration(t *testing.T) {
	const path, header = "../../README.md", "| Environment | Flag | Default | Meaning |"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	var tables [][2]int // [first row, end) of each table under header
	for i, line := range lines {
		if line == header {
			end := i + 2
			for end < len(lines) && strings.HasPrefix(lines[end], "|") {
				end++
			}
			tables = append(tables, [2]int{i + 2, end})
		}
	}
	if len(tables) != 2 {
		t.Fatalf("README.md has %d tables headed %q, want 2: the configuration and the abuse limits", len(tables), header)
	}
	want := [2][]string{readmeRows(serverSetting, mailSetting), readmeRows(limitSetting)}
	if *update {
		var out []string
		out = append(out, lines[:tables[0][0]]...)
		out = append(out, want[0]...)
		out = append(out, lines[tables[0][1]:tables[1][0]]...)
		out = append(out, want[1]...)
		out = append(out, lines[tables[1][1]:]...)
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for i, tbl := range tables {
		if got := lines[tbl[0]:tbl[1]]; !slices.Equal(got, want[i]) {
			t.Errorf("README.md's configuration table %d differs from the settings (go test ./cmd/scimd -run README -update):\ngot:\n%s\nwant:\n%s",
				i+1, strings.Join(got, "\n"), strings.Join(want[i], "\n"))
		}
	}
}

// readmeRows renders the settings of the groups as README's table rows.
func readmeRows(groups ...settingGroup) []string {
	var rows []string
	for _, s := range settings {
		if !slices.Contains(groups, s.group) {
			continue
		}
		flagText, def := "", "(empty)"
		if s.flag != "" {
			flagText = "`-" + s.flag + "`"
		}
		if d := s.defaultText(func(string) string { return "" }); d != "" {
			def = "`" + d + "`"
		}
		if s.shown != "" {
			def = s.shown
		}
		rows = append(rows, strings.ReplaceAll(fmt.Sprintf("| `%s` | %s | %s | %s |", s.env, flagText, def, s.help), "|  |", "| |"))
	}
	return rows
}

// TestSecretSettingsNeverShow: a setting marked secret has a type that
// keeps its value out of logs and fmt, and no flag (ps shows flags).
func TestSecretSettingsNeverShow(t *testing.T) {
	for _, s := range settings {
		if !s.secret {
			continue
		}
		var cfg Config
		if err := s.set(&cfg, "marker-secret-value"); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", cfg)
		var help strings.Builder
		printSettings(&help, &cfg)
		for what, text := range map[string]string{"slog": logged.String(), "%+v": fmt.Sprintf("%+v", cfg), "-h": help.String(), "value": s.value(&cfg)} {
			if strings.Contains(text, "marker-secret-value") {
				t.Errorf("%s shows secret %s: %s", what, s.env, text)
			}
		}
		if s.flag != "" {
			t.Errorf("secret %s has flag -%s, which ps would show", s.env, s.flag)
		}
	}
}

func TestConfigMessages(t *testing.T) {
	cases := map[string]struct {
		env       map[string]string
		args      []string
		want, not []string
	}{
		"body limit with a suffix": {env: map[string]string{"SCIM_MAX_BODY_BYTES": "2000abc"}, want: []string{"SCIM_MAX_BODY_BYTES", `"2000abc"`}},
		"body limit too small":     {env: map[string]string{"SCIM_MAX_BODY_BYTES": "100"}, want: []string{"SCIM_MAX_BODY_BYTES", "at least 1024"}},
		"negative shutdown":        {args: []string{"-shutdown-timeout", "-1s"}, want: []string{"SCIM_SHUTDOWN_TIMEOUT (-shutdown-timeout)"}},
		"log level":                {env: map[string]string{"SCIM_LOG_LEVEL": "loud"}, want: []string{"want debug, info, warn or error"}},
		"redis scheme lists every form": {env: map[string]string{"SCIM_REDIS_URL": "http://localhost:6379"},
			want: []string{`scheme "http"`, "redis://", "rediss://", "unix://", "redis+sentinel://", "rediss+sentinel://", "redis+cluster://", "rediss+cluster://"}},
		"redis without a scheme hides the rest": {env: map[string]string{"SCIM_REDIS_URL": "hunter2@localhost:6379"},
			want: []string{"SCIM_REDIS_URL", "no scheme"}, not: []string{"hunter2"}},
		"redis scheme that may be a password": {env: map[string]string{"SCIM_REDIS_URL": "hunter2 pass://localhost"},
			want: []string{"SCIM_REDIS_URL", "(not shown)"}, not: []string{"hunter2"}},
		"redis without a host": {env: map[string]string{"SCIM_REDIS_URL": "redis://:hunter2@/0"}, want: []string{"want a host"}, not: []string{"hunter2"}},
		"unix without a path":  {env: map[string]string{"SCIM_REDIS_URL": "unix://"}, want: []string{"socket's path"}},
		"token rate flag NaN":  {args: []string{"-token-rate", "NaN"}, want: []string{"SCIM_TOKEN_RATE (-token-rate)"}},
		"debug addr":           {args: []string{"-debug-addr", "localhost"}, want: []string{"SCIM_DEBUG_ADDR (-debug-addr)", "host:port"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseConfig(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if err == nil {
				t.Fatalf("parseConfig(%q) with %v = nil error, want one", c.args, c.env)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q shows %q", err, n)
				}
			}
		})
	}
}

func TestConfigAcceptsEveryRedisURLForm(t *testing.T) {
	for _, u := range []string{
		"redis://localhost:6379/0", "rediss://:pw@redis.example.com:6380/0", "unix:///run/redis/redis.sock",
		"unix://:pw@/run/redis/redis.sock?db=1", "redis+sentinel://s1:26379?master_name=m&addr=s2:26379",
		"rediss+sentinel://s1:26379?master_name=m", "redis+cluster://n1:7000?addr=n2:7001", "rediss+cluster://n1:7000",
	} {
		if _, err := parseConfig(nil, func(k string) string { return map[string]string{"SCIM_REDIS_URL": u}[k] }, io.Discard); err != nil {
			t.Errorf("parseConfig with SCIM_REDIS_URL=%s: %v", u, err)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"serve", "-h"}, {"help"}} {
		var stdout, stderr strings.Builder
		if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Errorf("run(%q) = %v, want nil (exit 0)", args, err)
		}
		out := stdout.String() + stderr.String()
		for _, want := range []string{"scimd org create", "scimd token create", "scimd audit"} {
			if !strings.Contains(out, want) {
				t.Errorf("run(%q) printed %q, want it to list %q", args, out, want)
			}
		}
		if args[0] != "help" && !strings.Contains(out, "-redis-url") {
			t.Errorf("run(%q) does not list serve's flags:\n%s", args, out)
		}
	}
	for _, args := range [][]string{{"org", "-h"}, {"token", "--help"}, {"audit", "-h"}, {"org", "set", "-h"}} {
		var stdout strings.Builder
		if err := run(context.Background(), args, func(string) string { return "" }, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "usage:") {
			t.Errorf("run(%q) = %v, printing %q; want nil and the command's usage", args, err, stdout.String())
		}
	}
}

// TestConfigNeverShowsSecrets: the bootstrap token, the SMTP password and the
// Redis URL's password stay out of logs, formatted values and -h.
func TestConfigNeverShowsSecrets(t *testing.T) {
	env := map[string]string{"SCIM_REDIS_URL": "rediss://scimd:redis-pass-secret@redis.example.com:6380/0",
		"SCIM_BOOTSTRAP_TOKEN": "bootstrap-token-secret", "SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "a@b.example",
		"SCIM_SMTP_USERNAME": "mailer", "SCIM_SMTP_PASSWORD": "smtp-pass-secret"}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RedisURL.Reveal() != env["SCIM_REDIS_URL"] || cfg.BootstrapToken.Reveal() != env["SCIM_BOOTSTRAP_TOKEN"] {
		t.Fatalf("parseConfig lost a setting: %v", cfg)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("config", "config", cfg, "redis_url", cfg.RedisURL, "token", cfg.BootstrapToken)
	var help strings.Builder
	if err := run(context.Background(), []string{"-h"}, getenv, &help, &help); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	for what, text := range map[string]string{
		"slog": logged.String(), "%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg),
		"%#v of the URL": fmt.Sprintf("%#v", cfg.RedisURL), "-h": help.String(),
	} {
		for _, secret := range []string{"redis-pass-secret", "bootstrap-token-secret", "smtp-pass-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %s:\n%s", what, secret, text)
			}
		}
	}
	if !strings.Contains(logged.String(), `"RedisURL":"rediss://scimd:xxxxx@redis.example.com:6380/0"`) {
		t.Errorf("the log does not show the Redis URL redacted:\n%s", logged.String())
	}
	if !strings.Contains(help.String(), "redis.example.com") {
		t.Errorf("-h does not show the Redis URL's host as -redis-url's default:\n%s", help.String())
	}
	for _, u := range []string{"redis://u:12/pw-secret@host:6379", "redis://:pw-secret@local host:1"} {
		if s := RedisURL(u).String(); strings.Contains(s, "pw-secret") {
			t.Errorf("RedisURL(%q).String() = %q, shows the password", u, s)
		}
	}
	if _, err := parseConfig(nil, func(k string) string {
		return map[string]string{"SCIM_BASE_URL": "https://admin:base-secret@scim.example.com"}[k]
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "SCIM_BASE_URL") || strings.Contains(err.Error(), "base-secret") {
		t.Errorf("SCIM_BASE_URL with a password: error %v, want one naming the setting, without the password", err)
	}
}

// TestHelpIsPlainText: -h renders the settings table's markdown for a
// terminal (no link syntax, no backticks) and states a default in README's
// words, a value set otherwise as it is.
func TestHelpIsPlainText(t *testing.T) {
	help := func(env map[string]string) string {
		t.Helper()
		var out strings.Builder
		if err := run(context.Background(), []string{"-h"}, func(k string) string { return env[k] }, &out, &out); err != nil {
			t.Fatalf("run -h: %v", err)
		}
		return out.String()
	}
	out := help(nil)
	for _, bad := range []string{"](", "`", "(0s)"} {
		if strings.Contains(out, bad) {
			t.Errorf("-h shows %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"SCIM_REDIS_WAIT_REPLICA 0 (off)\n", "(see Deployment in README.md)", "SCIM_REDIS_URL (empty: embedded)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("-h lacks %q:\n%s", want, out)
		}
	}
	if out := help(map[string]string{"SCIM_REDIS_WAIT_REPLICA": "500ms"}); !strings.Contains(out, "SCIM_REDIS_WAIT_REPLICA (500ms)\n") {
		t.Errorf("-h with SCIM_REDIS_WAIT_REPLICA=500ms lacks its value:\n%s", out)
	}
}
