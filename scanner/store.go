package scanner

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of crumb.db the scanner owns; all start with "scan".
var (
	bucketMeta      = []byte("scan.meta")      // "cookiedb" → imported definitions (JSON array)
	bucketOverrides = []byte("scan.overrides") // site → overrides (JSON object)
	bucketReports   = []byte("scan.reports")   // report id → storedReport (JSON)
	bucketBySite    = []byte("scan.bysite")    // site 0x00 created(8, big-endian ns) id → empty
	bucketJobs      = []byte("scan.jobs")      // job id → Job (JSON)
	bucketSchedules = []byte("scan.schedules") // site → Schedule (JSON)

	keyCookieDB = []byte("cookiedb")
)

const maxSiteID = 128

// ReportInfo describes a stored report.
type ReportInfo struct {
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	URL      string    `json:"url"`
	Engine   string    `json:"engine"`
	Created  time.Time `json:"created"`
	Pages    int       `json:"pages"`
	Cookies  int       `json:"cookies"`
	Flagged  int       `json:"flagged"` // cookies flagged before consent or after a rejection
	SHA256   string    `json:"sha256"`  // hex SHA-256 of the stored report JSON (ReportJSON)
	Evidence bool      `json:"evidence"`
}

// storedReport is the value of a report: its info and the report JSON,
// kept byte for byte as hashed.
type storedReport struct {
	Info   ReportInfo      `json:"info"`
	Report json.RawMessage `json:"report"`
}

// Store keeps the scanner's data in crumb.db: imported cookie definitions,
// per-site overrides, reports, jobs and rescan schedules. The caller opens
// and closes the *bolt.DB, which other packages share.
type Store struct {
	db  *bolt.DB
	now func() time.Time

	mu         sync.Mutex
	classifier *Classifier // builtin + imported; rebuilt on import
}

// OpenStore prepares the scanner's buckets. Jobs left queued or running by a
// process that stopped are marked failed: one process owns crumb.db, so
// none of them can still be running.
func OpenStore(db *bolt.DB) (*Store, error) {
	s := &Store{db: db, now: time.Now}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketOverrides, bucketReports, bucketBySite, bucketJobs, bucketSchedules} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		jobs := tx.Bucket(bucketJobs)
		var stale [][]byte
		var fixed [][]byte
		err := jobs.ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %s: %w", k, err)
			}
			if j.State == JobQueued || j.State == JobRunning {
				j.State, j.Error, j.Finished = JobFailed, "interrupted: the server stopped", s.now().UTC()
				b, err := json.Marshal(j)
				if err != nil {
					return err
				}
				stale, fixed = append(stale, bytes.Clone(k)), append(fixed, b)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range stale {
			if err := jobs.Put(k, fixed[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanner: open store: %w", err)
	}
	return s, nil
}

// ImportOpenCookieDatabase parses an Open Cookie Database CSV
// (ParseOpenCookieDatabase) and makes it the imported definitions, replacing
// any earlier import. It returns how many definitions it keeps. On error
// nothing changes.
func (s *Store) ImportOpenCookieDatabase(r io.Reader) (int, error) {
	defs, err := ParseOpenCookieDatabase(r)
	if err != nil {
		return 0, err
	}
	if len(defs) == 0 {
		return 0, fmt.Errorf("%w: no cookie rows", ErrBadCSV)
	}
	if err := s.SetDefinitions(defs); err != nil {
		return 0, err
	}
	return len(defs), nil
}

// SetDefinitions replaces the imported definitions.
func (s *Store) SetDefinitions(defs []Definition) error {
	b, err := json.Marshal(defs)
	if err != nil {
		return fmt.Errorf("scanner: save definitions: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyCookieDB, b) })
	if err != nil {
		return fmt.Errorf("scanner: save definitions: %w", err)
	}
	s.mu.Lock()
	s.classifier = nil
	s.mu.Unlock()
	return nil
}

// Definitions returns the imported definitions.
func (s *Store) Definitions() ([]Definition, error) {
	var defs []Definition
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyCookieDB)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &defs)
	})
	if err != nil {
		return nil, fmt.Errorf("scanner: read definitions: %w", err)
	}
	return defs, nil
}

// Classifier returns a classifier with the built-in database and the
// imported definitions (no overrides). It is shared: use WithOverrides for
// a site's view.
func (s *Store) Classifier() (*Classifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.classifier != nil {
		return s.classifier, nil
	}
	defs, err := s.Definitions()
	if err != nil {
		return nil, err
	}
	c := NewClassifier()
	c.Add(defs)
	s.classifier = c
	return c, nil
}

// SiteClassifier is Classifier with the site's overrides.
func (s *Store) SiteClassifier(site string) (*Classifier, error) {
	c, err := s.Classifier()
	if err != nil {
		return nil, err
	}
	ov, err := s.Overrides(site)
	if err != nil {
		return nil, err
	}
	return c.WithOverrides(ov)
}

func checkSite(site string) error {
	if site == "" || len(site) > maxSiteID || bytes.IndexByte([]byte(site), 0) >= 0 {
		return fmt.Errorf("%w: site id %q", ErrBadOptions, site)
	}
	return nil
}

// SetOverrides stores the owner's category overrides for a site: cookie
// name (or pattern with one "*") → category. An empty map removes them. A
// bad category fails with ErrBadCategory and changes nothing.
func (s *Store) SetOverrides(site string, overrides map[string]string) error {
	if err := checkSite(site); err != nil {
		return err
	}
	if _, err := overrideTable(overrides); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOverrides)
		if len(overrides) == 0 {
			return b.Delete([]byte(site))
		}
		v, err := json.Marshal(overrides)
		if err != nil {
			return err
		}
		return b.Put([]byte(site), v)
	})
	if err != nil {
		return fmt.Errorf("scanner: save overrides of %s: %w", site, err)
	}
	return nil
}

// Overrides returns a site's overrides (empty if none).
func (s *Store) Overrides(site string) (map[string]string, error) {
	m := map[string]string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOverrides).Get([]byte(site))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &m)
	})
	if err != nil {
		return nil, fmt.Errorf("scanner: read overrides of %s: %w", site, err)
	}
	return m, nil
}

// newID returns a random, URL-safe 128-bit identifier.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// SaveReport stores a report of a site under a new id and returns its info.
// The report's JSON is stored as hashed: ReportJSON returns those bytes, and
// ReportInfo.SHA256 is their hash.
func (s *Store) SaveReport(site string, rep *Report) (ReportInfo, error) {
	return s.saveReport(newID(), site, rep)
}

func (s *Store) saveReport(id, site string, rep *Report) (ReportInfo, error) {
	if err := checkSite(site); err != nil {
		return ReportInfo{}, err
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		return ReportInfo{}, fmt.Errorf("scanner: save report: %w", err)
	}
	sum := sha256.Sum256(raw)
	info := ReportInfo{ID: id, Site: site, URL: rep.URL, Engine: rep.Engine, Created: s.now().UTC(),
		Pages: len(rep.Pages), Cookies: len(rep.Cookies), SHA256: hex.EncodeToString(sum[:])}
	for _, c := range rep.Cookies {
		if c.BeforeConsent || c.AfterReject {
			info.Flagged++
		}
	}
	v, err := json.Marshal(storedReport{Info: info, Report: raw})
	if err != nil {
		return ReportInfo{}, fmt.Errorf("scanner: save report: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketReports).Put([]byte(id), v); err != nil {
			return err
		}
		return tx.Bucket(bucketBySite).Put(siteKey(site, info.Created, id), nil)
	})
	if err != nil {
		return ReportInfo{}, fmt.Errorf("scanner: save report: %w", err)
	}
	return info, nil
}

func siteKey(site string, t time.Time, id string) []byte {
	k := make([]byte, 0, len(site)+1+8+len(id))
	k = append(k, site...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return append(k, id...)
}

func (s *Store) stored(id string) (storedReport, error) {
	var sr storedReport
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketReports).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &sr) // copies out of the transaction
	})
	if errors.Is(err, ErrNotFound) {
		return sr, fmt.Errorf("scanner: report %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return sr, fmt.Errorf("scanner: read report %q: %w", id, err)
	}
	return sr, nil
}

// Report returns a stored report and its info, or ErrNotFound.
func (s *Store) Report(id string) (*Report, ReportInfo, error) {
	sr, err := s.stored(id)
	if err != nil {
		return nil, ReportInfo{}, err
	}
	rep := new(Report)
	if err := json.Unmarshal(sr.Report, rep); err != nil {
		return nil, ReportInfo{}, fmt.Errorf("scanner: read report %q: %w", id, err)
	}
	return rep, sr.Info, nil
}

// ReportJSON returns a stored report's JSON exactly as stored and hashed.
func (s *Store) ReportJSON(id string) ([]byte, ReportInfo, error) {
	sr, err := s.stored(id)
	return sr.Report, sr.Info, err
}

// Reports lists a site's reports, newest first.
func (s *Store) Reports(site string) ([]ReportInfo, error) {
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(site), 0)
		c := tx.Bucket(bucketBySite).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix)+8:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanner: list reports of %s: %w", site, err)
	}
	infos := make([]ReportInfo, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		sr, err := s.stored(ids[i])
		if err != nil {
			return nil, err
		}
		infos = append(infos, sr.Info)
	}
	return infos, nil
}

// Latest returns a site's newest report, or ErrNotFound.
func (s *Store) Latest(site string) (*Report, ReportInfo, error) {
	infos, err := s.Reports(site)
	if err != nil {
		return nil, ReportInfo{}, err
	}
	if len(infos) == 0 {
		return nil, ReportInfo{}, fmt.Errorf("scanner: reports of %s: %w", site, ErrNotFound)
	}
	return s.Report(infos[0].ID)
}

// markEvidence records that a report's hash went to the evidence log.
func (s *Store) markEvidence(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReports)
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var sr storedReport
		if err := json.Unmarshal(v, &sr); err != nil {
			return err
		}
		sr.Info.Evidence = true
		nv, err := json.Marshal(sr)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), nv)
	})
}

// DeleteSite removes everything the scanner keeps about a site: reports,
// overrides, schedule and finished jobs (account cancellation).
func (s *Store) DeleteSite(site string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		prefix := append([]byte(site), 0)
		by := tx.Bucket(bucketBySite)
		var keys [][]byte
		c := by.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := tx.Bucket(bucketReports).Delete(k[len(prefix)+8:]); err != nil {
				return err
			}
			if err := by.Delete(k); err != nil {
				return err
			}
		}
		jobs := tx.Bucket(bucketJobs)
		var jobKeys [][]byte
		err := jobs.ForEach(func(k, v []byte) error {
			var j Job
			if json.Unmarshal(v, &j) == nil && j.Site == site {
				jobKeys = append(jobKeys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range jobKeys {
			if err := jobs.Delete(k); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketOverrides).Delete([]byte(site)); err != nil {
			return err
		}
		return tx.Bucket(bucketSchedules).Delete([]byte(site))
	})
	if err != nil {
		return fmt.Errorf("scanner: delete site %s: %w", site, err)
	}
	return nil
}

func (s *Store) putJSON(bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), b) })
}

func (s *Store) getJSON(bucket []byte, key string, v any) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket).Get([]byte(key))
		if b == nil {
			return ErrNotFound
		}
		return json.Unmarshal(b, v)
	})
}

// Schedule is a site's periodic rescan.
type Schedule struct {
	Site  string        `json:"site"`
	URL   string        `json:"url"`
	Every time.Duration `json:"every"`
	Next  time.Time     `json:"next"`
	Scan  JobOptions    `json:"scan"`
}

func (s *Store) saveSchedule(sc Schedule) error {
	if err := s.putJSON(bucketSchedules, sc.Site, sc); err != nil {
		return fmt.Errorf("scanner: save schedule of %s: %w", sc.Site, err)
	}
	return nil
}

// Schedules lists every rescan schedule.
func (s *Store) Schedules() ([]Schedule, error) {
	var out []Schedule
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSchedules).ForEach(func(k, v []byte) error {
			var sc Schedule
			if err := json.Unmarshal(v, &sc); err != nil {
				return fmt.Errorf("schedule %s: %w", k, err)
			}
			out = append(out, sc)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("scanner: list schedules: %w", err)
	}
	return out, nil
}

func (s *Store) deleteSchedule(site string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSchedules).Delete([]byte(site)) })
}
