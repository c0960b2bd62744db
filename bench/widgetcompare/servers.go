package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/server"
	"github.com/crumb-consent/crumb/widget"
)

// crumbServer is server.New over real stores in a temporary data directory,
// wired the way `crumb serve` wires them (the pattern of bench/consentload),
// with one site on the default banner config.
type crumbServer struct {
	addr string // host:port on loopback
	site string
	dir  string
	srv  *server.Server
	lg   *ledger.Ledger
	db   *bolt.DB
}

// widgetPath is the site's widget.js path on the Crumb server.
func (c *crumbServer) widgetPath() string { return "/v1/sites/" + c.site + "/widget.js" }

// widgetURL is the absolute widget.js URL a page's script tag uses.
func (c *crumbServer) widgetURL() string { return "http://" + c.addr + c.widgetPath() }

// startCrumb creates a temporary data directory, opens the stores in it,
// registers one site with widget.DefaultConfig and serves on 127.0.0.1:0.
func startCrumb(logger *slog.Logger) (_ *crumbServer, err error) {
	c := &crumbServer{}
	c.dir, err = os.MkdirTemp("", "widgetcompare-")
	if err != nil {
		return nil, fmt.Errorf("crumb server: data directory: %w", err)
	}
	var closers []func() error
	closers = append(closers, func() error { return os.RemoveAll(c.dir) })
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	c.db, err = bolt.Open(filepath.Join(c.dir, "crumb.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("crumb server: open crumb.db: %w", err)
	}
	closers = append(closers, c.db.Close)
	sites, err := account.Open(c.db)
	if err != nil {
		return nil, fmt.Errorf("crumb server: %w", err)
	}
	canonical := widget.DefaultConfig().Canonical()
	site, err := sites.CreateSite(account.Site{Name: "Bench shop", Domains: []string{"127.0.0.1"}},
		account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		return nil, fmt.Errorf("crumb server: create site: %w", err)
	}
	c.site = site.ID

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("crumb server: listen: %w", err)
	}
	closers = append(closers, ln.Close)
	c.addr = ln.Addr().String()
	c.lg, err = ledger.Open(ledger.Options{Dir: c.dir, Host: c.addr})
	if err != nil {
		return nil, fmt.Errorf("crumb server: %w", err)
	}
	closers = append(closers, c.lg.Close)
	receipts, err := consent.LoadReceipts(filepath.Join(c.dir, "receipt.key"))
	if err != nil {
		return nil, fmt.Errorf("crumb server: %w", err)
	}
	c.srv, err = server.New(server.Config{PublicURL: "http://" + c.addr, Logger: logger},
		server.Deps{Ledger: c.lg, Sites: sites, Receipts: receipts})
	if err != nil {
		return nil, fmt.Errorf("crumb server: %w", err)
	}
	go c.srv.Serve(ln) // returns when Shutdown closes the listener
	return c, nil
}

// Close shuts the server down, closes the stores and removes the data
// directory.
func (c *crumbServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(c.srv.Shutdown(ctx), c.lg.Close(), c.db.Close(), os.RemoveAll(c.dir))
}

// baselineServer is server.NewBaseline on 127.0.0.1:0: the same Fiber stack
// whose routes do no work.
type baselineServer struct {
	addr string
	b    *server.Baseline
}

func startBaseline() (*baselineServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline server: listen: %w", err)
	}
	b := server.NewBaseline()
	go b.Serve(ln)
	return &baselineServer{addr: ln.Addr().String(), b: b}, nil
}

func (s *baselineServer) Close() error { return s.b.Shutdown() }

// asset is one static file with its compressed forms, made once at start.
type asset struct {
	contentType   string
	plain, gz, br []byte
}

// newAsset compresses b the way Crumb's server compresses widget.js: gzip
// and brotli at their best compression.
func newAsset(contentType string, b []byte) *asset {
	a := &asset{contentType: contentType, plain: b}
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gw.Write(b)
	gw.Close()
	a.gz = bytes.Clone(buf.Bytes())
	buf.Reset()
	bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	bw.Write(b)
	bw.Close()
	a.br = bytes.Clone(buf.Bytes())
	return a
}

// staticServer serves the comparison pages on one loopback origin (the
// "site") and the npm libraries' files on another (the "CDN"), so that every
// library, Crumb included, loads from a second origin as it would in
// production. Files are compressed like Crumb's widget.js: brotli when the
// client accepts it, else gzip, else plain.
type staticServer struct {
	site, cdn string // host:port
	srvs      []*http.Server
	mu        sync.RWMutex
	pages     map[string]*asset // path → page
	files     map[string]*asset // path under /lib/ → file
}

func startStatic() (_ *staticServer, err error) {
	s := &staticServer{pages: map[string]*asset{}, files: map[string]*asset{}}
	for _, addr := range []*string{&s.site, &s.cdn} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("static server: listen: %w", err)
		}
		*addr = ln.Addr().String()
		srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
		s.srvs = append(s.srvs, srv)
		go srv.Serve(ln)
	}
	return s, nil
}

// addPage serves html at path on the site origin and returns its URL.
func (s *staticServer) addPage(path, html string) string {
	s.mu.Lock()
	s.pages[path] = newAsset("text/html; charset=utf-8", []byte(html))
	s.mu.Unlock()
	return "http://" + s.site + path
}

// addFile serves a library file at /lib/name on the CDN origin and returns
// its URL.
func (s *staticServer) addFile(name string, a *asset) string {
	s.mu.Lock()
	s.files["/lib/"+name] = a
	s.mu.Unlock()
	return "http://" + s.cdn + "/lib/" + name
}

func (s *staticServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	a, ok := s.pages[r.URL.Path]
	if !ok {
		a, ok = s.files[r.URL.Path]
	}
	s.mu.RUnlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Access-Control-Allow-Origin", "*")
	body := a.plain
	switch enc := r.Header.Get("Accept-Encoding"); {
	case acceptsEncoding(enc, "br"):
		h.Set("Content-Encoding", "br")
		body = a.br
	case acceptsEncoding(enc, "gzip"):
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}

// acceptsEncoding reports whether an Accept-Encoding header names enc with
// a non-zero q.
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (s *staticServer) Close() error {
	var errs []error
	for _, srv := range s.srvs {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// errorLogger keeps the server's internal errors on w and drops the rest.
func errorLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}
