// Package realserver starts what the load tools under bench/ measure: the
// real Crumb server (server.New over real stores in a data directory, wired
// as `crumb serve` wires them, with one site on the default banner) and its
// two baselines, each on its own loopback port: the same handlers over a
// ledger that stores nothing (StartNoStorage), and the same Fiber stack with
// routes that do no work at all (server.NewBaseline).
package realserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/server"
	"github.com/crumb-consent/crumb/widget"
)

// Options configure Start.
type Options struct {
	Dir      string   // data directory; "" = a temporary one, removed by Close
	Domains  []string // the site's domains
	OnCommit func(batch int, commit time.Duration)
	Logger   *slog.Logger
}

// Server is a running real server.
type Server struct {
	Addr    string // host:port on 127.0.0.1
	Site    string // the site's id
	Version string // its banner version
	Ledger  *ledger.Ledger

	srv      *server.Server
	db       *bolt.DB
	sites    *account.Store
	receipts *consent.Receipts
	logger   *slog.Logger
	tempDir  string
}

// Start opens the stores, registers the site and serves. Default ledger
// options, rate limit off: the figures are the product's, not a tuned
// variant's.
func Start(opts Options) (_ *Server, err error) {
	s := &Server{logger: opts.Logger}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "crumb-bench-"); err != nil {
			return nil, fmt.Errorf("real server: data directory: %w", err)
		}
		s.tempDir = dir
		closers = append(closers, func() error { return os.RemoveAll(dir) })
	}
	if s.db, err = bolt.Open(filepath.Join(dir, "crumb.db"), 0o600, &bolt.Options{Timeout: time.Second}); err != nil {
		return nil, fmt.Errorf("real server: open crumb.db: %w", err)
	}
	closers = append(closers, s.db.Close)
	sites, err := account.Open(s.db)
	s.sites = sites
	if err != nil {
		return nil, fmt.Errorf("real server: %w", err)
	}
	canonical := widget.DefaultConfig().Canonical()
	site, err := sites.CreateSite(account.Site{Name: "Bench shop", Domains: opts.Domains},
		account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		return nil, fmt.Errorf("real server: create site: %w", err)
	}
	s.Site, s.Version = site.ID, site.Banner

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("real server: listen: %w", err)
	}
	closers = append(closers, ln.Close)
	s.Addr = ln.Addr().String()
	if s.Ledger, err = ledger.Open(ledger.Options{Dir: dir, Host: s.Addr, OnCommit: opts.OnCommit}); err != nil {
		return nil, fmt.Errorf("real server: %w", err)
	}
	closers = append(closers, s.Ledger.Close)
	receipts, err := consent.LoadReceipts(filepath.Join(dir, "receipt.key"))
	s.receipts = receipts
	if err != nil {
		return nil, fmt.Errorf("real server: %w", err)
	}
	s.srv, err = server.New(server.Config{PublicURL: "http://" + s.Addr, Logger: opts.Logger},
		server.Deps{Ledger: s.Ledger, Sites: sites, Receipts: receipts})
	if err != nil {
		return nil, fmt.Errorf("real server: %w", err)
	}
	go s.srv.Serve(ln) // returns when Close shuts it down
	return s, nil
}

// Close shuts the server down (draining in-flight appends), closes the
// stores and removes a temporary data directory.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := errors.Join(s.srv.Shutdown(ctx), s.Ledger.Close(), s.db.Close())
	if s.tempDir != "" {
		err = errors.Join(err, os.RemoveAll(s.tempDir))
	}
	return err
}

// Baseline is server.NewBaseline on 127.0.0.1:0: the same Fiber stack whose
// routes do no work.
type Baseline struct {
	Addr string
	b    *server.Baseline
}

// StartBaseline serves the baseline.
func StartBaseline() (*Baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline server: listen: %w", err)
	}
	b := server.NewBaseline()
	go b.Serve(ln)
	return &Baseline{Addr: ln.Addr().String(), b: b}, nil
}

// Close stops the baseline.
func (b *Baseline) Close() error { return b.b.Shutdown() }

// ErrorLogger drops everything below Error: the server logs only its
// internal errors there, and a load run must show those.
func ErrorLogger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

// NoStorage is the real server's handlers over a ledger that stores nothing:
// server.New with the same site registry and receipt key as s, so a consent
// is decoded, checked, turned into a record and signed exactly as by the real
// server, but Append only numbers it and Proof answers one proof held in
// memory. Measured in the same run as the real server, it shows what
// durable storage costs.
type NoStorage struct {
	Addr   string
	ledger *noStorageLedger
	srv    *server.Server
}

// StartNoStorage serves the no-storage variant of s on 127.0.0.1:0.
func (s *Server) StartNoStorage() (*NoStorage, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("no-storage server: listen: %w", err)
	}
	l := &noStorageLedger{vkey: s.Ledger.VerifierKey()}
	srv, err := server.New(server.Config{PublicURL: "http://" + s.Addr, Logger: s.logger},
		server.Deps{Ledger: l, Sites: s.sites, Receipts: s.receipts})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("no-storage server: %w", err)
	}
	go srv.Serve(ln)
	return &NoStorage{Addr: ln.Addr().String(), ledger: l, srv: srv}, nil
}

// SetProof makes p the proof every proof request gets (with its id); until
// then proof requests answer 404.
func (n *NoStorage) SetProof(p *ledger.Proof) { n.ledger.proof.Store(p) }

// Close stops the no-storage server.
func (n *NoStorage) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.srv.Shutdown(ctx)
}

// noStorageLedger implements server.Ledger without storing anything.
type noStorageLedger struct {
	next  atomic.Uint64
	proof atomic.Pointer[ledger.Proof]
	vkey  string
}

func (l *noStorageLedger) Append(_ context.Context, e ledger.Entry) (ledger.Appended, error) {
	return ledger.Appended{ID: e.ID, Index: l.next.Add(1) - 1, LeafHash: tlog.RecordHash(e.Leaf), Leaf: e.Leaf}, nil
}

func (l *noStorageLedger) NewID() string { return consent.NewID() }

func (l *noStorageLedger) Proof(_ context.Context, id string) (*ledger.Proof, error) {
	p := l.proof.Load()
	if p == nil {
		return nil, ledger.ErrNotFound
	}
	c := *p
	c.ID = id
	return &c, nil
}

func (l *noStorageLedger) Locate(string) (string, uint64, error) { return "", 0, ledger.ErrNotFound }

func (l *noStorageLedger) Checkpoint(string) ([]byte, error) { return nil, ledger.ErrNotFound }

func (l *noStorageLedger) Consistency(context.Context, string, uint64, uint64) ([]tlog.Hash, error) {
	return nil, ledger.ErrRange
}

func (l *noStorageLedger) VerifierKey() string { return l.vkey }

func (l *noStorageLedger) Leaves(string, uint64, func(uint64, []byte, error) bool) error {
	return ledger.ErrNotFound
}
