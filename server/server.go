package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crumb-consent/crumb/consent"
)

// Config is the server's part of `crumb serve`.
type Config struct {
	// PublicURL is where visitors and auditors reach this server, e.g.
	// "https://crumb.example"; the widget posts to it.
	PublicURL string
	// TrustProxy lists the proxies (CIDRs) whose X-Forwarded-For is believed.
	// Empty: the socket's peer is the visitor.
	TrustProxy []netip.Prefix
	// RateLimit is consent POSTs per second per anonymised address; 0 = off.
	RateLimit float64
	// MetricsAllow lists the networks that may read /metrics (the client's
	// address as for consents: behind a trusted proxy, the forwarded one).
	// Empty: loopback only.
	MetricsAllow []netip.Prefix
	Logger       *slog.Logger
}

// Deps are the domain services the server exposes.
type Deps struct {
	Ledger   Ledger
	Sites    Sites
	Receipts *consent.Receipts
	Regions  Regions // optional
	Scans    Scans   // optional: the latest scan feeds the banner
	// Ready reports whether the stores are open, for /healthz. Optional.
	Ready func() error
}

// Server is the HTTP server.
type Server struct {
	cfg        Config
	deps       Deps
	app        *fiber.App
	log        *slog.Logger
	metrics    *metrics
	limiter    *rateLimiter
	widgets    *widgetCache
	scanCache  findingsCache
	shareCache shareCache
	api        string // PublicURL without a trailing slash
	now        func() time.Time
}

// New builds the Fiber app with every route. It does not listen.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Ledger == nil || deps.Sites == nil || deps.Receipts == nil {
		return nil, errors.New("server: ledger, sites and receipts are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server: public URL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:       cfg,
		deps:      deps,
		log:       cfg.Logger,
		metrics:   newMetrics(),
		widgets:   newWidgetCache(512),
		scanCache: findingsCache{sites: map[string]*scanFindings{}},
		api:       strings.TrimSuffix(cfg.PublicURL, "/"),
		now:       time.Now,
	}
	if cfg.RateLimit > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit, time.Now)
	}
	fc := fiberConfig()
	fc.ErrorHandler = s.handleError
	if len(cfg.TrustProxy) > 0 {
		fc.ProxyHeader = fiber.HeaderXForwardedFor
		fc.EnableTrustedProxyCheck = true
		for _, p := range cfg.TrustProxy {
			fc.TrustedProxies = append(fc.TrustedProxies, p.String())
		}
	}
	s.app = fiber.New(fc)
	s.routes()
	return s, nil
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.app.Listener(ln)
}

// Shutdown stops accepting connections and waits for in-flight requests
// (and so in-flight appends) to finish, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.limiter != nil {
		s.limiter.stop()
	}
	return s.app.ShutdownWithContext(ctx)
}

// fiberConfig is the Fiber configuration shared by the server and Baseline.
func fiberConfig() fiber.Config {
	return fiber.Config{
		AppName:               "crumb",
		DisableStartupMessage: true,
		// Large enough for a banner config; consent bodies have their own
		// 8 KiB limit in the handler.
		BodyLimit:    256 << 10,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  60 * time.Second,
		// No route takes a form: fasthttp would otherwise parse a multipart
		// body before any handler could refuse it.
		DisablePreParseMultipartForm: true,
	}
}
