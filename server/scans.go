package server

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crumb-consent/crumb/scanner"
	"github.com/crumb-consent/crumb/widget"
)

// Scans is what the server needs of the scanner's store: the latest report of
// a site, or an error wrapping scanner.ErrNotFound when it has none.
type Scans interface {
	Latest(site string) (*scanner.Report, scanner.ReportInfo, error)
}

// scanFindings is what a site's latest scan adds to its banner: the cookie
// declaration (until the owner writes one) and services for the third-party
// hosts it saw that the built-in tracker list puts beyond necessary, so that
// the widget blocks them without the owner editing a tag.
type scanFindings struct {
	report   string // report id; "" when the site has no scan
	cookies  []widget.DeclaredCookie
	services []widget.Service
	fetched  time.Time
}

// findingsTTL bounds how stale the banner may be after a new scan; widget.js
// itself is cached by browsers for longer.
const findingsTTL = time.Minute

type findingsCache struct {
	mu    sync.Mutex
	sites map[string]*scanFindings
}

// findings returns the site's scan findings, read from the store at most once
// per findingsTTL.
func (s *Server) findings(site string) *scanFindings {
	if s.deps.Scans == nil {
		return &scanFindings{}
	}
	now := s.now()
	s.scanCache.mu.Lock()
	f, ok := s.scanCache.sites[site]
	s.scanCache.mu.Unlock()
	if ok && now.Sub(f.fetched) < findingsTTL {
		return f
	}
	f = &scanFindings{fetched: now}
	rep, info, err := s.deps.Scans.Latest(site)
	switch {
	case err == nil:
		f.report = info.ID
		f.cookies, f.services = fromReport(rep)
	case !errors.Is(err, scanner.ErrNotFound):
		s.log.Error("latest scan", "site", site, "err", err)
	}
	s.scanCache.mu.Lock()
	if len(s.scanCache.sites) > 10000 {
		clear(s.scanCache.sites)
	}
	s.scanCache.sites[site] = f
	s.scanCache.mu.Unlock()
	return f
}

// fromReport turns a report into declaration rows and the services the
// widget blocks: one per provider and category among the third-party hosts
// the scanner says wait for consent (scanner.BlockHosts), with the cookies
// the scanner attributes to that provider. Unclassified cookies are left out
// of the declaration: the owner has to say what they are first.
func fromReport(rep *scanner.Report) ([]widget.DeclaredCookie, []widget.Service) {
	var cookies []widget.DeclaredCookie
	seen := map[string]bool{}
	for _, c := range rep.Cookies {
		if !widget.IsCategory(c.Category) || seen[c.Name] || len(cookies) == widget.MaxDeclaredCookies {
			continue
		}
		seen[c.Name] = true
		provider := c.Provider
		if provider == "" && c.ThirdParty {
			provider = strings.TrimPrefix(c.Domain, ".")
		}
		cookies = append(cookies, widget.DeclaredCookie{
			Name: c.Name, Category: c.Category, Provider: provider, Purpose: c.Purpose, Expiry: lifetimeText(c.Expires, rep.Finished),
		})
	}

	type key struct{ name, category string }
	index := map[key]int{}
	var services []widget.Service
	for _, b := range scanner.BlockHosts(rep) {
		if !widget.IsCategory(b.Category) || b.Category == widget.Necessary {
			continue
		}
		k := key{b.Provider, b.Category}
		if k.name == "" {
			k.name = b.Host
		}
		i, ok := index[k]
		if !ok {
			i = len(services)
			index[k] = i
			services = append(services, widget.Service{Name: k.name, Category: k.category})
		}
		if len(services[i].Hosts) < widget.MaxHostsPerSvc {
			services[i].Hosts = append(services[i].Hosts, b.Host)
		}
	}
	for _, sv := range scanner.Services(rep) {
		if i, ok := index[key{sv.Provider, sv.Category}]; ok && sv.Provider != "" {
			n := min(len(sv.Names), widget.MaxCookiesPerSvc-len(services[i].Cookies))
			services[i].Cookies = append(services[i].Cookies, sv.Names[:n]...)
		}
	}
	return cookies, services
}

// withFindings returns cfg with the scan's findings added: the declaration
// when the owner has none, and services for blocked hosts no service of the
// owner's covers. Each addition must keep the config valid, or is left out.
func withFindings(cfg widget.Config, f *scanFindings) widget.Config {
	if f.report == "" {
		return cfg
	}
	out := cfg
	if len(cfg.Cookies) == 0 {
		out.Cookies = f.cookies
		if out.Validate() != nil {
			out.Cookies = cfg.Cookies
		}
	}
	covered := map[string]bool{}
	for _, s := range cfg.Services {
		for _, h := range s.Hosts {
			covered[h] = true
		}
	}
	out.Services = append([]widget.Service(nil), cfg.Services...)
	for _, s := range f.services {
		if covered[s.Hosts[0]] || len(out.Services) == widget.MaxServices {
			continue
		}
		out.Services = append(out.Services, s)
		if out.Validate() != nil {
			out.Services = out.Services[:len(out.Services)-1]
		}
	}
	return out
}

// lifetimeText says how long a cookie lives, as a declaration shows it.
func lifetimeText(expires string, from time.Time) string {
	if expires == "" {
		return "session"
	}
	t, err := time.Parse(time.RFC3339, expires)
	if err != nil || from.IsZero() {
		return ""
	}
	d := t.Sub(from)
	switch days := int(d.Hours() / 24); {
	case d <= 0:
		return "expired"
	case days >= 365:
		return plural(days/365, "year")
	case days >= 1:
		return plural(days, "day")
	default:
		return plural(max(1, int(d.Hours())), "hour")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
