package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/geo"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/scanner"
	"github.com/crumb-consent/crumb/server"
)

// serveConfig is `crumb serve`'s configuration.
type serveConfig struct {
	Addr             string // listen address
	Data             string // data directory
	PublicURL        string // default: http://localhost:<port of Addr>
	GeoIP            string // GeoIP2/GeoLite2 country database; none = opt-in everywhere
	TrustProxy       []netip.Prefix
	MetricsAllow     []netip.Prefix // who may read /metrics; empty = loopback
	RateLimit        float64        // consent POSTs per second per anonymised address; 0 = off
	AllowPrivateScan bool
}

// parsePrefixes reads a flag's CIDRs; a plain address is a prefix of one.
func parsePrefixes(flag string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("%w: --%s %q is not a CIDR or address", errUsage, flag, v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func parseServeConfig(env *Env, args []string) (serveConfig, error) {
	var cfg serveConfig
	var trust, metricsAllow listFlag
	fs := newFlagSet(env, "serve")
	fs.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&cfg.Data, "data", "./data", "data directory (created on first start)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "URL visitors reach this server at (default http://localhost:PORT)")
	fs.StringVar(&cfg.GeoIP, "geoip", "", "GeoIP2/GeoLite2 country database (.mmdb); without one the opt-in rule set applies everywhere")
	fs.Var(&trust, "trust-proxy", "CIDRs of reverse proxies whose X-Forwarded-For is trusted (comma-separated)")
	fs.Var(&metricsAllow, "metrics-allow", "CIDRs of the clients that may read /metrics (comma-separated; default loopback only)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", 20, "consent POSTs per second per anonymised address (0 = off)")
	fs.BoolVar(&cfg.AllowPrivateScan, "allow-private-scan", false, "allow scanning loopback and private addresses")
	if err := parseFlags(fs, env, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var err error
	if cfg.TrustProxy, err = parsePrefixes("trust-proxy", trust); err != nil {
		return cfg, err
	}
	if cfg.MetricsAllow, err = parsePrefixes("metrics-allow", metricsAllow); err != nil {
		return cfg, err
	}
	if cfg.RateLimit < 0 {
		return cfg, fmt.Errorf("%w: --rate-limit must be 0 or more", errUsage)
	}
	if cfg.PublicURL == "" {
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return cfg, fmt.Errorf("%w: --addr %q: %v", errUsage, cfg.Addr, err)
		}
		// Port 0 is chosen at listen time: runServe names the URL then, so
		// that neither the widget's URLs nor the ledger's key name say ":0".
		if port != "0" {
			cfg.PublicURL = "http://localhost:" + port
		}
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.PublicURL != "" { // refused before anything listens
		if _, err := hostOf(cfg.PublicURL); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func runServe(ctx context.Context, env *Env, args []string) error {
	cfg, err := parseServeConfig(env, args)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	host, err := hostOf(cfg.PublicURL)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	runtime.GOMAXPROCS(ledger.Procs(env.Getenv("GOMAXPROCS")))
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(server.GCPercent)
	}

	// The ledger's commit hook needs the server's metrics, and the server
	// needs the ledger: forward through a variable set once both exist.
	var srv *server.Server
	st, err := openStores(cfg.Data, host, func(n int, d time.Duration) {
		if srv != nil {
			srv.ObserveCommit(n, d)
		}
	})
	if err != nil {
		return err
	}
	defer st.Close()
	receipts, err := consent.LoadReceipts(filepath.Join(cfg.Data, receiptKeyFile))
	if err != nil {
		return err
	}
	var regions server.Regions
	if cfg.GeoIP != "" {
		r, err := geo.Open(cfg.GeoIP)
		if err != nil {
			return fmt.Errorf("--geoip: %w", err)
		}
		defer r.Close()
		go reloadOnHangup(ctx, r, logger)
		regions = r
		logger.Info("regions from GeoIP database", "file", cfg.GeoIP, "type", r.Type())
	} else {
		logger.Info("no GeoIP database: the opt-in rule set applies everywhere")
	}
	runner := st.newRunner(cfg.AllowPrivateScan, logger)
	defer runner.Close()
	if err := scheduleRescans(st, runner); err != nil {
		return err
	}
	srv, err = server.New(server.Config{
		PublicURL: cfg.PublicURL, TrustProxy: cfg.TrustProxy, MetricsAllow: cfg.MetricsAllow, RateLimit: cfg.RateLimit, Logger: logger,
	}, server.Deps{
		Ledger: st.ledger, Sites: st.sites, Receipts: receipts, Scans: st.scans, Regions: regions,
		Ready: func() error { return st.db.View(func(*bolt.Tx) error { return nil }) },
	})
	if err != nil {
		return err
	}
	admin, err := listenAdmin(cfg.Data, st, runner, logger)
	if err != nil {
		return err
	}
	defer admin.Close()

	logger.Info("crumb listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "data", cfg.Data)
	if env.Ready != nil {
		env.Ready <- ln.Addr().String()
	}
	go retentionLoop(ctx, st, logger)
	go runner.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// retentionLoop erases expired records once a day (and a minute after
// start), so that retention holds without anyone running erase-expired.
func retentionLoop(ctx context.Context, st *stores, logger *slog.Logger) {
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		results, err := eraseExpired(st, time.Now())
		for _, r := range results {
			if r.Erased > 0 {
				logger.Info("retention: erased expired consents", "site", r.Site, "before", r.Before, "erased", r.Erased)
			}
		}
		if err != nil {
			logger.Error("retention", "err", err)
		}
		timer.Reset(24 * time.Hour)
	}
}

// scheduleRescans makes every site that has been scanned rescan monthly
// (the runner's default period) unless it has a schedule already. Sites
// never scanned wait for their owner's first scan: Crumb does not crawl a
// domain nobody asked it to.
func scheduleRescans(st *stores, runner *scanner.Runner) error {
	scheduled := map[string]bool{}
	schedules, err := st.scans.Schedules()
	if err != nil {
		return err
	}
	for _, sc := range schedules {
		scheduled[sc.Site] = true
	}
	for _, site := range st.sites.Sites("") {
		if scheduled[site.ID] {
			continue
		}
		_, info, err := st.scans.Latest(site.ID)
		if errors.Is(err, scanner.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := runner.Schedule(site.ID, info.URL, 0, scanner.JobOptions{Engine: info.Engine}); err != nil {
			return fmt.Errorf("schedule rescans of %s: %w", site.ID, err)
		}
	}
	return nil
}

// reloadOnHangup reloads the GeoIP database on SIGHUP, so that an operator
// can update it without a restart; a file that fails to load changes nothing.
func reloadOnHangup(ctx context.Context, r *geo.Regions, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := r.Reload(); err != nil {
				logger.Error("GeoIP reload failed; keeping the database in use", "err", err)
			} else {
				logger.Info("GeoIP database reloaded")
			}
		}
	}
}
