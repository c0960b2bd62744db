package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/server"
	"github.com/crumb-consent/crumb/widget"
)

// commitStats accumulates the ledger's OnCommit reports.
type commitStats struct {
	commits, appends, nanos atomic.Int64
}

func (c *commitStats) observe(batch int, d time.Duration) {
	c.commits.Add(1)
	c.appends.Add(int64(batch))
	c.nanos.Add(int64(d))
}

// commitSnapshot is commitStats at one instant, with the process's bytes
// written to storage so far (-1 where /proc/self/io is not available).
type commitSnapshot struct{ commits, appends, nanos, diskWrite int64 }

func (a commitSnapshot) sub(b commitSnapshot) commitSnapshot {
	d := commitSnapshot{a.commits - b.commits, a.appends - b.appends, a.nanos - b.nanos, a.diskWrite - b.diskWrite}
	if a.diskWrite < 0 || b.diskWrite < 0 {
		d.diskWrite = -1
	}
	return d
}

func (a commitSnapshot) add(b commitSnapshot) commitSnapshot {
	d := commitSnapshot{a.commits + b.commits, a.appends + b.appends, a.nanos + b.nanos, a.diskWrite + b.diskWrite}
	if a.diskWrite < 0 || b.diskWrite < 0 {
		d.diskWrite = -1
	}
	return d
}

func (c *commitStats) snapshot() commitSnapshot {
	return commitSnapshot{c.commits.Load(), c.appends.Load(), c.nanos.Load(), diskWriteBytes()}
}

// diskWriteBytes is write_bytes of /proc/self/io: bytes this process caused
// to be sent to storage (Linux), or -1.
func diskWriteBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// LedgerStats are the group commits of a window.
type LedgerStats struct {
	Commits      int64   `json:"commits"`
	Appends      int64   `json:"appends"`
	MeanBatch    float64 `json:"mean_batch"`
	MeanCommitMs float64 `json:"mean_commit_ms"` // transaction including fsync
	CommitsPerS  float64 `json:"commits_per_s"`
	// DiskKiBPerCommit is what the process wrote to storage per group
	// commit in the window (bbolt pages and meta; the load is all it
	// writes), or -1 when unknown.
	DiskKiBPerCommit float64 `json:"disk_kib_per_commit"`
}

// ledgerStats summarises the group commits d of windows lasting seconds.
func ledgerStats(d commitSnapshot, seconds float64) LedgerStats {
	s := LedgerStats{Commits: d.commits, Appends: d.appends}
	if s.Commits > 0 {
		s.MeanBatch = float64(s.Appends) / float64(s.Commits)
		s.MeanCommitMs = float64(d.nanos) / float64(s.Commits) / 1e6
	}
	if seconds > 0 {
		s.CommitsPerS = float64(s.Commits) / seconds
	}
	s.DiskKiBPerCommit = -1
	if d.diskWrite >= 0 && s.Commits > 0 {
		s.DiskKiBPerCommit = float64(d.diskWrite) / 1024 / float64(s.Commits)
	}
	return s
}

// realTarget is server.New over real stores in a data directory, wired
// the way `crumb serve` wires them (stores.go, cmd_serve.go).
type realTarget struct {
	addr    string
	site    string
	version string
	commits *commitStats
	srv     *server.Server
	ledger  *ledger.Ledger
	db      *bolt.DB
}

// startReal opens the stores in dir, registers one site for shop.example
// with the default banner, and serves on a fresh loopback port.
func startReal(dir string, logger *slog.Logger) (_ *realTarget, err error) {
	t := &realTarget{commits: new(commitStats)}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	t.db, err = bolt.Open(filepath.Join(dir, "crumb.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open crumb.db: %w", err)
	}
	closers = append(closers, t.db.Close)
	sites, err := account.Open(t.db)
	if err != nil {
		return nil, err
	}
	canonical := widget.DefaultConfig().Canonical()
	site, err := sites.CreateSite(account.Site{Name: "Bench shop", Domains: []string{"shop.example"}},
		account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		return nil, fmt.Errorf("create site: %w", err)
	}
	t.site, t.version = site.ID, site.Banner

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	closers = append(closers, ln.Close)
	t.addr = ln.Addr().String()
	publicURL := "http://" + t.addr

	// Default ledger options, as `crumb serve` uses: the figures are the
	// product's, not a tuned variant's.
	t.ledger, err = ledger.Open(ledger.Options{Dir: dir, Host: t.addr, OnCommit: t.commits.observe})
	if err != nil {
		return nil, err
	}
	closers = append(closers, t.ledger.Close)
	receipts, err := consent.LoadReceipts(filepath.Join(dir, "receipt.key"))
	if err != nil {
		return nil, err
	}
	t.srv, err = server.New(server.Config{PublicURL: publicURL, RateLimit: 0, Logger: logger},
		server.Deps{Ledger: t.ledger, Sites: sites, Receipts: receipts})
	if err != nil {
		return nil, err
	}
	go t.srv.Serve(ln) // returns when Close shuts it down
	return t, nil
}

// Close shuts the server down (draining in-flight appends) and closes the
// stores.
func (t *realTarget) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(t.srv.Shutdown(ctx), t.ledger.Close(), t.db.Close())
}

// baselineTarget is server.NewBaseline on a fresh loopback port.
type baselineTarget struct {
	addr string
	b    *server.Baseline
}

func startBaseline() (*baselineTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	b := server.NewBaseline()
	go b.Serve(ln)
	return &baselineTarget{addr: ln.Addr().String(), b: b}, nil
}

func (t *baselineTarget) Close() error { return t.b.Shutdown() }

// errorLogger drops everything below Error: the server logs only its
// internal errors there, and a load run must show those.
func errorLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}
