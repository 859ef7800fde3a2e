package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/console"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mail"
)

// defaultOrg is the organization created on first start.
const defaultOrg = "default"

// tokenCacheTTL is how long the API trusts a verified token without asking
// the store again: a revoked token works for at most this long.
const tokenCacheTTL = 5 * time.Second

// extensionSweepInterval is how often a server resumes the purges of
// removed custom attributes and the sweeps of trigram indexes that are
// pending in any organization (a variable for the tests).
var extensionSweepInterval = 30 * time.Second

// serve runs the HTTP server until ctx ends, then drains it.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	// ContextHandler: a line logged with a request's context names the
	// request (request_id), wherever below the middleware it is logged.
	log := slog.New(scim.ContextHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel()})))

	store, err := backend.Open(ctx, cfg.RedisURL.Reveal())
	if err != nil {
		if cfg.RedisURL != "" {
			return fmt.Errorf("open the store at SCIM_REDIS_URL %s: %w", redactedURL(cfg.RedisURL.Reveal()), err)
		}
		return fmt.Errorf("open the embedded store: %w", err)
	}
	defer store.Close()
	if store.Embedded() {
		log.Warn("using the embedded in-memory store: data is lost when scimd stops; set SCIM_REDIS_URL for production")
	}
	if cfg.RedisWaitReplica > 0 && !store.Embedded() {
		if err := store.WaitForReplica(cfg.RedisWaitReplica); err != nil {
			return fmt.Errorf("SCIM_REDIS_WAIT_REPLICA: %w", err)
		}
		log.Info("writes wait for a replica", "timeout", cfg.RedisWaitReplica.String())
	}

	// Keys an earlier version wrote and this one no longer uses are removed
	// (Store.Upgrade); group deletions and replacements of groups' members
	// a stopped server left midway are finished, in bounded scripts (see
	// Store.DeleteGroup, Store.UpdateGroup). Both in the background.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	defer func() { stopSweep(); <-sweepDone }()
	go func() {
		defer close(sweepDone)
		err := store.UpgradeAll(sweepCtx, func(org string, n int, err error) {
			if err != nil {
				log.Warn("removing keys of an earlier version failed", "org", org, "err", err)
			} else if n > 0 {
				log.Info("removed keys of an earlier version", "org", org, "keys", n)
			}
		})
		if err != nil && sweepCtx.Err() == nil {
			log.Warn("removing keys of an earlier version failed", "err", err)
		}
		err = store.FinishAllGroupDeletes(sweepCtx, func(org string, n int, err error) {
			if err != nil {
				log.Warn("finishing interrupted group deletions and member replacements failed", "org", org, "finished", n, "err", err)
			} else if n > 0 {
				log.Info("finished interrupted group deletions and member replacements", "org", org, "groups", n)
			}
		})
		if err != nil {
			log.Warn("finishing interrupted group deletions and member replacements failed", "err", err)
		}
		// Purges of removed custom attributes likewise (backend/extensions.go),
		// and builds and purges of trigram indexes (backend/substring.go): at
		// the start, then every extensionSweepInterval, for those a change
		// left unfinished when its own time ran out.
		purge := func() {
			err := store.PurgeAllExtensions(sweepCtx, func(org string, n int, err error) {
				if err != nil {
					log.Warn("purging removed custom attributes or sweeping trigram indexes failed", "org", org, "finished", n, "err", err)
				} else if n > 0 {
					log.Info("finished purging removed custom attributes", "org", org, "purges", n)
				}
			})
			if err != nil && sweepCtx.Err() == nil {
				log.Warn("purging removed custom attributes or sweeping trigram indexes failed", "err", err)
			}
		}
		purge()
		tick := time.NewTicker(extensionSweepInterval)
		defer tick.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-tick.C:
				purge()
			}
		}
	}()

	if err := cfg.checkOutbox(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on SCIM_ADDR (-addr) %s: %w", cfg.Addr, err)
	}
	base := publicBaseURL(cfg.BaseURL, ln.Addr())
	mailer, mailWhere := cfg.mailer()
	if outbox, ok := mailer.(*mail.Outbox); ok {
		// Development only: a line names each message's file (scimd outbox
		// prints its links). SMTP deliveries are not logged one by one.
		outbox.Log = log
	}
	notifier := notify.New(base, mailer)
	admins := resources.NewAdmins(resources.AdminsConfig{Store: store, Notifier: notifier, InviteTTL: cfg.InviteTTL, Log: log})
	if err := bootstrap(ctx, store, admins, cfg, base, stdout); err != nil {
		ln.Close()
		return err
	}
	if err := setSelfRegistration(ctx, store, cfg.SelfRegistration, base, stdout); err != nil {
		ln.Close()
		return err
	}
	// Requests read an organization's existence in its own slot, never the
	// list: record there the organizations created before that was so.
	if n, err := store.RecordOrgsInTheirSlots(ctx); err != nil {
		ln.Close()
		return err
	} else if n > 0 {
		log.Info("organizations recorded in their own slots", "organizations", n)
	}

	users := resources.NewUsers(store).WithOnboarding(resources.Onboarding{
		Store: store, Notifier: notifier, InviteTTL: cfg.InviteTTL, Log: log})
	groups := resources.NewGroups(store)
	api := scim.NewHandler(scim.Config{BaseURL: base + scim.BasePath, MaxBodyBytes: cfg.MaxBodyBytes, TokenCacheTTL: tokenCacheTTL,
		TokenRate: cfg.TokenRate, TokenBurst: cfg.TokenBurst, AuthFailureLimit: cfg.AuthFailureLimit,
		PublicRate: cfg.PublicRate, TrustForwardedFor: cfg.TrustForwardedFor},
		users, groups, store, log)
	defer shareWithReplicas(ctx, store, api, log)()
	secure := strings.HasPrefix(base, "https://")
	mux := http.NewServeMux()
	mux.Handle(scim.BasePath+"/", api)
	mux.Handle(scim.BasePath, api)
	mux.Handle("/t/", api) // customer-facing routes carry the organization
	mux.Handle("/admin/", api)
	orgs := resources.NewOrgs(store)
	customerPages := accounts.New(accounts.Config{SecureCookies: secure, Limiter: api,
		Orgs: orgs, Sessions: resources.NewCustomerSessions(store, users)}, users, log)
	// Forgot-password emails go out after their answers: let them finish
	// before the store closes.
	defer customerPages.Wait()
	mux.Handle(notify.AccountsPages, api.LimitPublic(customerPages))
	// The console is not behind LimitPublic: administrators submit many
	// forms; its sign-ins count against the failed-authentication limit.
	consolePages := console.New(console.Config{SecureCookies: secure, BaseURL: base, Limiter: api, TokenRevoked: api.ForgetToken},
		console.Services{Users: users, Groups: groups, Admins: admins, Orgs: orgs}, log)
	mux.Handle(notify.ConsolePages, consolePages)
	mux.Handle("/t/{org}/console", consolePages) // its redirect to the slash carries the console's headers
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/t/"+defaultOrg+"/console/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	// /readyz answers for the store as this process uses it, within about a
	// second and without retries (Store.Ready): a load balancer takes a
	// process out while its primary, or one of its Cluster's, is down.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := store.Ready(r.Context()); err != nil {
			log.WarnContext(r.Context(), "readiness check failed", "err", err)
			reason := "redis unreachable"
			if nr := (*backend.NotReady)(nil); errors.As(err, &nr) {
				reason = nr.Reason
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": reason})
			return
		}
		_, _ = io.WriteString(w, `{"status":"ready"}`)
	})
	// The operations listener (SCIM_DEBUG_ADDR) serves the profiler and the
	// Prometheus metrics: requests by route and status, the Go runtime's
	// and the process's own figures, and the build (scimd_build_info). Neither is for the public listener: the
	// metrics are unauthenticated and say how the server is used. Without
	// it, requests are not counted.
	var ops *http.Server
	var metrics *scim.Metrics
	if cfg.DebugAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoGauge())
		metrics = scim.NewMetrics(reg)
		reg.MustRegister(limitFallbacksMetric(api))
		opsLn, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on SCIM_DEBUG_ADDR %s: %w", cfg.DebugAddr, err)
		}
		ops = &http.Server{Handler: opsMux(reg), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := ops.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("operations listener failed", "err", err)
			}
		}()
		defer ops.Close()
		log.Info("operations listener (pprof, /metrics)", "addr", opsLn.Addr().String())
		fmt.Fprintf(stdout, "Operations listener (pprof, /metrics) on %s\n", opsLn.Addr())
	}
	srv := &http.Server{
		Handler:           scim.Observe(log, metrics, apiFirst(api, mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("mail", "destination", mailWhere)
	fmt.Fprintf(stdout, "Mail: %s\n", mailWhere)
	for _, w := range cfg.mailWarnings() {
		log.Warn("mail settings", "warning", w)
		fmt.Fprintf(stdout, "Warning: %s\n", w)
	}
	log.Info("scimd listening", "addr", ln.Addr().String(), "base_url", base+scim.BasePath)
	fmt.Fprintf(stdout, "scimd listening on %s (SCIM base URL %s)\n", ln.Addr(), base+scim.BasePath)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// opsMux serves the profiler and reg's metrics, apart from the API.
func opsMux(reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// publicBaseURL is the configured base URL, or one derived from the listener.
func publicBaseURL(configured string, addr net.Addr) string {
	if configured != "" {
		return strings.TrimSuffix(strings.TrimRight(configured, "/"), scim.BasePath)
	}
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP.IsUnspecified() || tcp.IP == nil) {
		host = fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return "http://" + host
}

// bootstrap gives the default organization an owner token (the configured
// one, or a fresh one printed once when the organization is new) and, when
// the organization is new, a console owner (SCIM_OWNER_EMAIL) with a
// one-time sign-in link, printed. An organization with no way in says how
// to make one (sayIfNoWayIn).
func bootstrap(ctx context.Context, store *backend.Store, admins *resources.Admins, cfg Config, base string, stdout io.Writer) error {
	created, err := store.CreateOrg(ctx, defaultOrg)
	if err != nil {
		return fmt.Errorf("create organization %q: %w", defaultOrg, err)
	}
	if !created {
		if err := sayIfNoWayIn(ctx, store, cfg.BootstrapToken != "", stdout); err != nil {
			return err
		}
	}
	if created {
		if err := consoleOwner(resources.WithActor(ctx, resources.SystemActor), admins, notify.NewLinks(base), cfg.OwnerEmail, stdout); err != nil {
			return err
		}
	}
	if cfg.BootstrapToken != "" {
		// PutToken: the same token again on every start changes nothing;
		// a new one replaces (and so revokes) the previous.
		// Any text may be configured: org-scoped when it is in that
		// format for the default organization, else in the global hash.
		// Text shaped like that format that fails its checksum, or names
		// another organization, would never authenticate: say so now.
		if org, scoped, valid := cfg.BootstrapToken.Org(); !valid || scoped && org != defaultOrg {
			return fmt.Errorf("SCIM_BOOTSTRAP_TOKEN has the format of a scimd token but not a valid one of organization %q (a wrong checksum or another organization); mint one with scimd token create, or configure other text", defaultOrg)
		}
		return store.PutToken(ctx, resources.NewToken(defaultOrg, "bootstrap", resources.RoleOwner, cfg.BootstrapToken, time.Now().UTC()))
	}
	if !created {
		return nil
	}
	secret := resources.NewTokenSecret(defaultOrg)
	if err := store.CreateToken(ctx, resources.NewToken(defaultOrg, ownerTokenName, resources.RoleOwner, secret, time.Now().UTC())); err != nil {
		return fmt.Errorf("store the initial owner token: %w", err)
	}
	fmt.Fprintf(stdout, "Created organization %q. Its owner token (shown once, keep it):\n\n    %s\n\nTry: curl -H 'Authorization: Bearer %s' %s%s/Users\n\n",
		defaultOrg, secret.Reveal(), secret.Reveal(), base, scim.BasePath)
	return nil
}

// sayIfNoWayIn prints how to get into the default organization when it has
// no token and no administrator (and none is configured): what a first
// start stopped after creating the organization, before its owner, leaves.
// It mints nothing: a start is not a first start, replicas start together,
// and an organization its owners locked down stays so.
func sayIfNoWayIn(ctx context.Context, store *backend.Store, tokenConfigured bool, stdout io.Writer) error {
	if tokenConfigured {
		return nil
	}
	tokens, err := store.ListTokens(ctx, defaultOrg)
	if err != nil {
		return fmt.Errorf("tokens of organization %q: %w", defaultOrg, err)
	}
	admins, err := store.ListAdmins(ctx, defaultOrg)
	if err != nil {
		return fmt.Errorf("administrators of organization %q: %w", defaultOrg, err)
	}
	if len(tokens) == 0 && len(admins) == 0 {
		fmt.Fprintf(stdout, "Organization %q has no API token and no console administrator (did its first start stop early?). "+
			"Mint an owner token with: scimd token create --org %s --role owner --name owner; "+
			"or invite a console owner with: scimd admin invite --org %s --email you@example.com --role owner\n\n",
			defaultOrg, defaultOrg, defaultOrg)
	}
	return nil
}

// consoleOwner makes email an owner of the default organization's console
// and prints a single-use sign-in link for them, valid for
// resources.DefaultSignInLinkTTL.
func consoleOwner(ctx context.Context, admins *resources.Admins, links notify.Links, email string, stdout io.Writer) error {
	ad, _, err := admins.EnsureOwner(ctx, defaultOrg, email)
	if err != nil {
		return fmt.Errorf("create the console owner %s of %q: %w", email, defaultOrg, err)
	}
	token, err := admins.SignInLink(ctx, defaultOrg, ad.ID, resources.DefaultSignInLinkTTL)
	if err != nil {
		return fmt.Errorf("sign-in link of the console owner: %w", err)
	}
	link := links.WithToken(notify.AdminSignIn, defaultOrg, token)
	fmt.Fprintf(stdout, "Console: sign in as %s (owner of %q) with this one-time link, valid for %s:\n\n    %s\n\n",
		email, defaultOrg, resources.DefaultSignInLinkTTL, link.Reveal())
	return nil
}

// setSelfRegistration applies SCIM_SELF_REGISTRATION ("on" or "off") to the
// default organization, as "scimd org set --self-registration" does (audited
// as the system, a start-up set-up); "" leaves the stored setting.
func setSelfRegistration(ctx context.Context, store *backend.Store, setting, base string, stdout io.Writer) error {
	if setting == "" {
		return nil
	}
	on := setting == "on"
	if _, err := store.SetSelfRegistration(resources.WithActor(ctx, resources.SystemActor), defaultOrg, on); err != nil {
		return fmt.Errorf("set self-registration of %q (SCIM_SELF_REGISTRATION): %w", defaultOrg, err)
	}
	if on {
		fmt.Fprintf(stdout, "Self-registration of %q is on: customers register at %s\n", defaultOrg, notify.NewLinks(base).Page(notify.Register, defaultOrg))
	} else {
		fmt.Fprintf(stdout, "Self-registration of %q is off.\n", defaultOrg)
	}
	return nil
}

// apiFirst hands requests under scim.BasePath straight to api, as mux would
// (it routes the whole of scim.BasePath to api, and nothing under it
// elsewhere), and every other request to mux: a SCIM request is routed once,
// by api's own ServeMux, instead of twice. That ServeMux cleans paths and
// redirects as mux does. A path with escapes (RawPath) goes to mux, which
// matches the escaped path ("/scim/v2%2FUsers" is not under scim.BasePath).
func apiFirst(api, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; r.URL.RawPath == "" && (p == scim.BasePath || strings.HasPrefix(p, scim.BasePath+"/")) {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
