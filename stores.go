package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/scanner"
)

// Files in the data directory.
const (
	crumbDBFile    = "crumb.db"
	receiptKeyFile = "receipt.key"
	adminSocket    = "admin.sock"
)

// errDataInUse says a running server holds the data directory.
var errDataInUse = errors.New("the data directory is in use by a running crumb server")

// errNoData says the data directory holds no crumb.db: a mistyped --data,
// which a command that only reads or maintains data must not create.
var errNoData = errors.New("no crumb data here (crumb serve or crumb site add creates it; --data names another directory)")

// openExistingCrumbDB is openCrumbDB for a data directory that must exist.
func openExistingCrumbDB(dir string) (*bolt.DB, error) {
	if _, err := os.Stat(filepath.Join(dir, crumbDBFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, errNoData)
	}
	return openCrumbDB(dir)
}

// openCrumbDB opens crumb.db, creating the data directory and the file if
// need be, failing fast with errDataInUse when a server holds its lock.
func openCrumbDB(dir string) (*bolt.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, crumbDBFile), 0o600, &bolt.Options{Timeout: 300 * time.Millisecond})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s)", errDataInUse, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", crumbDBFile, err)
	}
	return db, nil
}

// stores are the open data directory.
type stores struct {
	db     *bolt.DB
	sites  *account.Store
	scans  *scanner.Store
	ledger *ledger.Ledger
}

// openStores opens crumb.db and the ledger. host names the checkpoint key.
func openStores(dir, host string, onCommit func(int, time.Duration)) (*stores, error) {
	db, err := openCrumbDB(dir)
	if err != nil {
		return nil, err
	}
	sites, err := account.Open(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	scans, err := scanner.OpenStore(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Host: host, OnCommit: onCommit})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &stores{db: db, sites: sites, scans: scans, ledger: l}, nil
}

// scanEvidence is the leaf that proves a scan report existed, unchanged, at
// a time: its hash goes into the site's scan log, apart from consents.
type scanEvidence struct {
	Site   string `json:"site"`
	Report string `json:"report"`
	SHA256 string `json:"sha256"` // hex SHA-256 of the stored report JSON
	Time   string `json:"time"`
}

// recordScan appends a report's hash to the log "<site>/scans"; the entry's
// id is the report id, so GET /v1/proof/{report id} proves it.
func (s *stores) recordScan(site, reportID string, sum [32]byte) error {
	now := time.Now().UTC()
	leaf, err := json.Marshal(scanEvidence{Site: site, Report: reportID, SHA256: hex.EncodeToString(sum[:]), Time: now.Format(time.RFC3339)})
	if err != nil {
		return err
	}
	_, err = s.ledger.Append(context.Background(), ledger.Entry{Log: site + "/scans", ID: reportID, Time: now, Leaf: leaf})
	if err != nil {
		return fmt.Errorf("scan evidence for %s: %w", reportID, err)
	}
	return nil
}

// newRunner is the scan job runner of a data directory.
func (s *stores) newRunner(allowPrivate bool, logger *slog.Logger) *scanner.Runner {
	return scanner.NewRunner(s.scans, scanner.RunnerOptions{
		Scan:     scanner.Options{AllowPrivate: allowPrivate},
		OnReport: s.recordScan,
		Logger:   logger,
	})
}

// Close drains the ledger first: appends in flight still complete.
func (s *stores) Close() error {
	return errors.Join(s.ledger.Close(), s.db.Close())
}

// hostOf is the checkpoint key name and origin host for a public URL.
func hostOf(publicURL string) (string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%w: --public-url %q must be an absolute http(s) URL", errUsage, publicURL)
	}
	return u.Host, nil
}
