package account

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)

var (
	bucketSites   = []byte("sites")
	bucketBanners = []byte("banners") // site id → {version → config, "#" seq → version}
)

// Defaults for new sites.
const (
	DefaultConsentLifetimeDays = 365
	DefaultRetentionDays       = 365
	maxDomains                 = 50
	maxName                    = 200
)

// Site is one website registered with Crumb.
type Site struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	Domains             []string  `json:"domains"`
	ConsentLifetimeDays int       `json:"consent_lifetime_days"`
	RetentionDays       int       `json:"retention_days"`
	Banner              string    `json:"banner_version"` // current banner version
	Account             string    `json:"account,omitempty"`
	Created             time.Time `json:"created"`
}

// Banner is one stored banner version.
type Banner struct {
	Version string
	Config  []byte // canonical JSON, exactly as saved
}

// Store is the site registry.
type Store struct {
	db *bolt.DB

	mu       sync.RWMutex
	sites    map[string]*Site
	versions map[string]map[string]struct{}
	current  map[string]Banner
}

// Open prepares the buckets in db and loads sites into memory.
func Open(db *bolt.DB) (*Store, error) {
	s := &Store{db: db, sites: map[string]*Site{}, versions: map[string]map[string]struct{}{}, current: map[string]Banner{}}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSites, bucketBanners} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketSites).ForEach(func(k, v []byte) error {
			site := new(Site)
			if err := json.Unmarshal(v, site); err != nil {
				return fmt.Errorf("site %s: %w", k, err)
			}
			s.sites[site.ID] = site
			set := map[string]struct{}{}
			if bb := tx.Bucket(bucketBanners).Bucket(k); bb != nil {
				if err := bb.ForEach(func(k, v []byte) error {
					if v != nil && k[0] != '#' {
						set[string(k)] = struct{}{}
					}
					return nil
				}); err != nil {
					return err
				}
				if cfg := bb.Get([]byte(site.Banner)); cfg != nil {
					s.current[site.ID] = Banner{Version: site.Banner, Config: bytes.Clone(cfg)}
				}
			}
			s.versions[site.ID] = set
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("account: open: %w", err)
	}
	return s, nil
}

// CreateSite registers a site with its first banner version and returns it
// with its new id. Domains are normalised (lower case, no scheme or port).
func (s *Store) CreateSite(site Site, banner Banner) (Site, error) {
	if err := normalise(&site); err != nil {
		return Site{}, err
	}
	if banner.Version == "" || len(banner.Config) == 0 {
		return Site{}, fmt.Errorf("%w: a site needs a banner config", ErrInvalid)
	}
	site.ID = newSiteID()
	site.Banner = banner.Version
	if site.Created.IsZero() {
		site.Created = time.Now().UTC().Truncate(time.Second)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putSite(tx, &site); err != nil {
			return err
		}
		return putBanner(tx, site.ID, banner)
	})
	if err != nil {
		return Site{}, fmt.Errorf("account: create site: %w", err)
	}
	s.mu.Lock()
	s.sites[site.ID] = cloneSite(&site)
	s.versions[site.ID] = map[string]struct{}{banner.Version: {}}
	s.current[site.ID] = Banner{Version: banner.Version, Config: bytes.Clone(banner.Config)}
	s.mu.Unlock()
	return site, nil
}

// Site returns one site, or ErrNotFound.
func (s *Store) Site(id string) (Site, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	site, ok := s.sites[id]
	if !ok {
		return Site{}, fmt.Errorf("site %q: %w", id, ErrNotFound)
	}
	return *cloneSite(site), nil
}

// Sites lists every site (of every account when account is ""), oldest first.
func (s *Store) Sites(account string) []Site {
	s.mu.RLock()
	out := make([]Site, 0, len(s.sites))
	for _, site := range s.sites {
		if account == "" || site.Account == account {
			out = append(out, *cloneSite(site))
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Site) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// AnyDomains reports whether match holds for the domains of some site; CORS
// preflights, which do not name a site, use it. match must not block.
func (s *Store) AnyDomains(match func(domains []string) bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, site := range s.sites {
		if match(site.Domains) {
			return true
		}
	}
	return false
}

// UpdateSite replaces the editable fields of a site (name, domains, lifetimes).
func (s *Store) UpdateSite(site Site) (Site, error) {
	if err := normalise(&site); err != nil {
		return Site{}, err
	}
	s.mu.RLock()
	old, ok := s.sites[site.ID]
	s.mu.RUnlock()
	if !ok {
		return Site{}, fmt.Errorf("site %q: %w", site.ID, ErrNotFound)
	}
	site.Banner, site.Account, site.Created = old.Banner, old.Account, old.Created
	if err := s.db.Update(func(tx *bolt.Tx) error { return putSite(tx, &site) }); err != nil {
		return Site{}, fmt.Errorf("account: update site: %w", err)
	}
	s.mu.Lock()
	s.sites[site.ID] = cloneSite(&site)
	s.mu.Unlock()
	return site, nil
}

// DeleteSite removes a site and its banner versions.
func (s *Store) DeleteSite(id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSites).Get([]byte(id)) == nil {
			return fmt.Errorf("site %q: %w", id, ErrNotFound)
		}
		if err := tx.Bucket(bucketSites).Delete([]byte(id)); err != nil {
			return err
		}
		if tx.Bucket(bucketBanners).Bucket([]byte(id)) != nil {
			return tx.Bucket(bucketBanners).DeleteBucket([]byte(id))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("account: delete site: %w", err)
	}
	s.mu.Lock()
	delete(s.sites, id)
	delete(s.versions, id)
	delete(s.current, id)
	s.mu.Unlock()
	return nil
}

// SaveBanner stores a banner version and makes it the site's current one.
// Saving a version the site already has only makes it current again; a
// version id that exists with other bytes is ErrConflict.
func (s *Store) SaveBanner(siteID string, banner Banner) error {
	if banner.Version == "" || len(banner.Config) == 0 {
		return fmt.Errorf("%w: empty banner", ErrInvalid)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSites).Get([]byte(siteID))
		if v == nil {
			return fmt.Errorf("site %q: %w", siteID, ErrNotFound)
		}
		var site Site
		if err := json.Unmarshal(v, &site); err != nil {
			return err
		}
		if err := putBanner(tx, siteID, banner); err != nil {
			return err
		}
		site.Banner = banner.Version
		return putSite(tx, &site)
	})
	if err != nil {
		return fmt.Errorf("account: save banner: %w", err)
	}
	s.mu.Lock()
	if site, ok := s.sites[siteID]; ok {
		site.Banner = banner.Version
	}
	s.versions[siteID][banner.Version] = struct{}{}
	s.current[siteID] = Banner{Version: banner.Version, Config: bytes.Clone(banner.Config)}
	s.mu.Unlock()
	return nil
}

// CurrentBanner returns the site's current banner. The returned config must
// not be modified.
func (s *Store) CurrentBanner(siteID string) (Banner, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.current[siteID]
	if !ok {
		return Banner{}, fmt.Errorf("site %q: %w", siteID, ErrNotFound)
	}
	return b, nil
}

// HasVersion reports whether the site ever had this banner version.
func (s *Store) HasVersion(siteID, version string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.versions[siteID][version]
	return ok
}

// Banner returns one stored version, or ErrNotFound.
func (s *Store) Banner(siteID, version string) (Banner, error) {
	var out Banner
	err := s.db.View(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBanners).Bucket([]byte(siteID))
		if bb == nil || version == "" || version[0] == '#' {
			return ErrNotFound
		}
		v := bb.Get([]byte(version))
		if v == nil {
			return ErrNotFound
		}
		out = Banner{Version: version, Config: bytes.Clone(v)}
		return nil
	})
	if err != nil {
		return Banner{}, fmt.Errorf("banner %s of site %q: %w", version, siteID, err)
	}
	return out, nil
}

// BannerHistory lists the site's versions, oldest first.
func (s *Store) BannerHistory(siteID string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBanners).Bucket([]byte(siteID))
		if bb == nil {
			return fmt.Errorf("site %q: %w", siteID, ErrNotFound)
		}
		c := bb.Cursor()
		for k, v := c.Seek([]byte("#")); k != nil && k[0] == '#'; k, v = c.Next() {
			out = append(out, string(v))
		}
		return nil
	})
	return out, err
}

func putSite(tx *bolt.Tx, site *Site) error {
	data, err := json.Marshal(site)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSites).Put([]byte(site.ID), data)
}

// putBanner stores a version once; the "#"-prefixed sequence keys keep the
// order in which versions were first saved.
func putBanner(tx *bolt.Tx, siteID string, banner Banner) error {
	bb, err := tx.Bucket(bucketBanners).CreateBucketIfNotExists([]byte(siteID))
	if err != nil {
		return err
	}
	if old := bb.Get([]byte(banner.Version)); old != nil {
		if !bytes.Equal(old, banner.Config) {
			return fmt.Errorf("%w: version %s exists with other content", ErrConflict, banner.Version)
		}
		return nil
	}
	if banner.Version[0] == '#' {
		return fmt.Errorf("%w: version id %q", ErrInvalid, banner.Version)
	}
	if err := bb.Put([]byte(banner.Version), banner.Config); err != nil {
		return err
	}
	seq, _ := bb.NextSequence()
	key := make([]byte, 9)
	key[0] = '#'
	binary.BigEndian.PutUint64(key[1:], seq)
	return bb.Put(key, []byte(banner.Version))
}

func normalise(site *Site) error {
	site.Name = strings.TrimSpace(site.Name)
	if len(site.Name) > maxName {
		return fmt.Errorf("%w: name over %d characters", ErrInvalid, maxName)
	}
	if len(site.Domains) == 0 || len(site.Domains) > maxDomains {
		return fmt.Errorf("%w: a site needs 1 to %d domains", ErrInvalid, maxDomains)
	}
	seen := map[string]bool{}
	domains := make([]string, 0, len(site.Domains))
	for _, d := range site.Domains {
		n, err := NormaliseDomain(d)
		if err != nil {
			return err
		}
		if !seen[n] {
			seen[n] = true
			domains = append(domains, n)
		}
	}
	site.Domains = domains
	if site.Name == "" {
		site.Name = domains[0]
	}
	if site.ConsentLifetimeDays == 0 {
		site.ConsentLifetimeDays = DefaultConsentLifetimeDays
	}
	if site.RetentionDays == 0 {
		site.RetentionDays = DefaultRetentionDays
	}
	if site.ConsentLifetimeDays < 1 || site.ConsentLifetimeDays > 730 {
		return fmt.Errorf("%w: consent lifetime must be 1 to 730 days", ErrInvalid)
	}
	if site.RetentionDays < 1 || site.RetentionDays > 3650 {
		return fmt.Errorf("%w: retention must be 1 to 3650 days", ErrInvalid)
	}
	return nil
}

// NormaliseDomain turns "https://Shop.Example:8443/x" or "shop.example." into
// "shop.example", and rejects anything that is not a host name or IP literal.
func NormaliseDomain(d string) (string, error) {
	orig := d
	d = strings.ToLower(strings.TrimSpace(d))
	if i := strings.Index(d, "://"); i >= 0 {
		d = d[i+3:]
	}
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	if strings.HasPrefix(d, "[") { // IPv6 literal
		if i := strings.Index(d, "]"); i > 0 {
			d = d[1:i]
		}
	} else if i := strings.LastIndex(d, ":"); i >= 0 && !strings.Contains(d[:i], ":") {
		d = d[:i]
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%w: domain %q", ErrInvalid, orig)
	}
	if strings.Contains(d, ":") { // IPv6
		for _, c := range d {
			if !(c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return "", fmt.Errorf("%w: domain %q", ErrInvalid, orig)
			}
		}
		return d, nil
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%w: domain %q", ErrInvalid, orig)
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%w: domain %q", ErrInvalid, orig)
			}
		}
	}
	return d, nil
}

var siteIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newSiteID returns 80 random bits as 16 lower-case characters: safe in URLs,
// log names and bbolt keys.
func newSiteID() string {
	var b [10]byte
	rand.Read(b[:])
	return siteIDEncoding.EncodeToString(b[:])
}

func cloneSite(s *Site) *Site {
	c := *s
	c.Domains = slices.Clone(s.Domains)
	return &c
}
