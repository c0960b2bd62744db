package server

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/widget"
)

// Cross-site consent sharing. Sites of one account whose banner configs
// say share_consent form a group. The widget on one of them hands the
// visitor's consent id to links to the others (query parameter
// crumb_share); the widget there looks the consent up here and records
// its own consent for its site with shared_from set. No third-party cookie
// is involved, so it works where browsers block them.

// shareTTL bounds how long a site's share domains are cached: a change to
// another site of the account reaches this site's widget within it.
const shareTTL = 10 * time.Second

type shareEntry struct {
	domains []string
	key     string // short, for the widget cache key
	at      time.Time
}

// shareCache holds each site's share domains for shareTTL.
type shareCache struct {
	mu sync.Mutex
	m  map[string]shareEntry
}

// shares reports whether site's current banner turns sharing on.
func (s *Server) shares(site account.Site) bool {
	banner, err := s.deps.Sites.CurrentBanner(site.ID)
	if err != nil {
		return false
	}
	cfg, err := s.widgets.config(site.ID, banner, s.findings(site.ID))
	return err == nil && cfg.ShareConsent
}

// shareDomains returns the domains of the other sharing sites of site's
// account (nil when site itself does not share) and a key that changes
// with them.
func (s *Server) shareDomains(site account.Site, cfg widget.Config) ([]string, string) {
	if !cfg.ShareConsent {
		return nil, ""
	}
	now := s.now()
	s.shareCache.mu.Lock()
	e, ok := s.shareCache.m[site.ID]
	s.shareCache.mu.Unlock()
	if ok && now.Sub(e.at) < shareTTL {
		return e.domains, e.key
	}
	var domains []string
	// Sites("") lists every site, so the account is checked again: sites
	// made without an account (crumb site add) form one group of their own.
	for _, other := range s.deps.Sites.Sites(site.Account) {
		if other.ID == site.ID || other.Account != site.Account || !s.shares(other) {
			continue
		}
		for _, d := range other.Domains {
			if !slices.Contains(site.Domains, d) && !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
	}
	slices.Sort(domains)
	domains = domains[:min(len(domains), widget.MaxShareDomains)]
	e = shareEntry{domains: domains, key: shortHash(strings.Join(domains, ",")), at: now}
	s.shareCache.mu.Lock()
	if s.shareCache.m == nil || len(s.shareCache.m) > 100_000 {
		s.shareCache.m = map[string]shareEntry{}
	}
	s.shareCache.m[site.ID] = e
	s.shareCache.mu.Unlock()
	return e.domains, e.key
}

// sharedConsent is the answer of GET /v1/sites/{site}/shared/{id}.
type sharedConsent struct {
	ID     string        `json:"id"`
	Site   string        `json:"site"`
	State  consent.State `json:"state"`
	Method string        `json:"method"`
	GPC    bool          `json:"gpc"`
	Time   string        `json:"time"`
}

// errNotShared is what every refusal looks like from outside: whether the
// id exists, belongs to another account or has expired is nobody's
// business but the owner's.
var errNotShared = &apiError{status: fiber.StatusNotFound, msg: "no consent shared with this site under this id"}

// sharedRecord returns the consent id if it may be shared with site: it is
// a live (unerased, unexpired) consent of another site of the same account,
// and both sites share.
func (s *Server) sharedRecord(site account.Site, id string) (consent.Record, error) {
	if !validID(id) || !s.shares(site) {
		return consent.Record{}, errNotShared
	}
	log, index, err := s.deps.Ledger.Locate(id)
	if err != nil {
		if errors.Is(err, ledger.ErrNotFound) {
			return consent.Record{}, errNotShared
		}
		return consent.Record{}, err
	}
	if log == site.ID {
		return consent.Record{}, errNotShared
	}
	from, err := s.deps.Sites.Site(log)
	if err != nil || from.Account != site.Account || !s.shares(from) {
		return consent.Record{}, errNotShared
	}
	var leaf []byte
	err = s.deps.Ledger.Leaves(log, index, func(_ uint64, l []byte, err error) bool {
		if err == nil {
			leaf = l
		}
		return false
	})
	if err != nil {
		return consent.Record{}, fmt.Errorf("read shared consent: %w", err)
	}
	if leaf == nil { // erased
		return consent.Record{}, errNotShared
	}
	rec, err := consent.ParseRecord(leaf)
	if err != nil {
		return consent.Record{}, fmt.Errorf("read shared consent: %w", err)
	}
	at, err := time.Parse(time.RFC3339, rec.Time)
	if err != nil || rec.ID != id || s.now().After(at.Add(lifetime(from))) {
		return consent.Record{}, errNotShared
	}
	return rec, nil
}

// handleShared answers a sharing site's widget with the state of a consent
// given on another site of the group.
func (s *Server) handleShared(c *fiber.Ctx) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	rec, err := s.sharedRecord(site, c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(sharedConsent{ID: rec.ID, Site: rec.Site, State: rec.State, Method: rec.Method, GPC: rec.GPC, Time: rec.Time})
}

// shortHash names a value in a cache key.
func shortHash(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}
