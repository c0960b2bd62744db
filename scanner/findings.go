package scanner

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

const maxPagesPerItem = 1000 // pages listed per cookie, request or storage key

// findings gathers what the engines observe — cookies, requests, storage
// writes — deduplicated, from any goroutine. build turns it into the report's
// lists, classified.
type findings struct {
	site site

	mu        sync.Mutex
	cookies   map[cookieKey]*cookieAgg
	requests  map[string]*requestAgg
	storage   map[storageKey]*storageAgg
	truncated bool
}

type cookieKey struct{ name, domain, path string }

type cookieAgg struct {
	c       Cookie // attributes of the first observation
	expires time.Time
	seen    time.Time
	pages   pageList
	phases  map[string]bool
}

type requestAgg struct {
	r     Request
	pages pageList
}

type storageKey struct{ kind, origin, key string }

type storageAgg struct {
	s      StorageItem
	pages  pageList
	phases map[string]bool
}

// pageList is an insertion-ordered set of page URLs, capped.
type pageList struct {
	list []string
	set  map[string]bool
}

func (p *pageList) add(u string) {
	if u == "" || p.set[u] || len(p.list) >= maxPagesPerItem {
		return
	}
	if p.set == nil {
		p.set = map[string]bool{}
	}
	p.set[u] = true
	p.list = append(p.list, u)
}

func newFindings(s site) *findings {
	return &findings{site: s, cookies: map[cookieKey]*cookieAgg{},
		requests: map[string]*requestAgg{}, storage: map[storageKey]*storageAgg{}}
}

// cookieObs is one observation of a cookie being set.
type cookieObs struct {
	name, domain, path string
	expires            time.Time // zero for a session cookie
	secure, httpOnly   bool
	partitioned        bool
	sameSite           string
	setBy, initiator   string
	page, phase        string
	at                 time.Time
}

// parseSetCookie turns one Set-Cookie header value (or a string written to
// document.cookie) received from reqURL into an observation, the way a
// browser would store it. ok is false for a syntax error, a Domain the host
// may not set, or a deletion (Max-Age ≤ 0, Expires in the past).
func parseSetCookie(line string, reqURL *url.URL, at time.Time) (cookieObs, bool) {
	c, err := http.ParseSetCookie(line)
	if err != nil || c.Name == "" {
		return cookieObs{}, false
	}
	host := strings.ToLower(reqURL.Hostname())
	o := cookieObs{name: c.Name, domain: host, secure: c.Secure, httpOnly: c.HttpOnly, partitioned: c.Partitioned, at: at}
	if c.Domain != "" {
		d := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(c.Domain), "."), ".")
		if d != host && !strings.HasSuffix(host, "."+d) {
			return cookieObs{}, false // a host may only set cookies for itself and its parents
		}
		if ps, _ := publicsuffix.PublicSuffix(d); ps == d && d != host {
			return cookieObs{}, false // no cookies for a whole public suffix
		}
		o.domain = "." + d
	}
	o.path = c.Path
	if !strings.HasPrefix(o.path, "/") {
		o.path = defaultCookiePath(reqURL.Path)
	}
	switch {
	case c.MaxAge < 0:
		return cookieObs{}, false
	case c.MaxAge > 0:
		o.expires = at.Add(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		if !c.Expires.After(at) {
			return cookieObs{}, false
		}
		o.expires = c.Expires
	}
	o.sameSite = sameSiteText(c.SameSite)
	return o, true
}

// defaultCookiePath is RFC 6265 §5.1.4: the directory of the request path.
func defaultCookiePath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.Count(p, "/") == 1 {
		return "/"
	}
	return p[:strings.LastIndex(p, "/")]
}

func sameSiteText(s http.SameSite) string {
	switch s {
	case http.SameSiteStrictMode:
		return "Strict"
	case http.SameSiteLaxMode:
		return "Lax"
	case http.SameSiteNoneMode:
		return "None"
	}
	return ""
}

// addCookie records an observation. The first observation of a cookie
// fixes its attributes; later ones add pages and phases.
func (f *findings) addCookie(o cookieObs) {
	k := cookieKey{o.name, o.domain, o.path}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.cookies[k]
	if a == nil {
		if len(f.cookies) >= maxCookies {
			f.truncated = true
			return
		}
		a = &cookieAgg{
			c: Cookie{Name: o.name, Domain: o.domain, Path: o.path, Secure: o.secure,
				HTTPOnly: o.httpOnly, SameSite: o.sameSite, SetBy: o.setBy, Initiator: o.initiator,
				Partitioned: o.partitioned,
				ThirdParty:  !f.site.contains(o.domain)},
			expires: o.expires,
			seen:    o.at,
			phases:  map[string]bool{},
		}
		f.cookies[k] = a
	}
	a.pages.add(o.page)
	if o.phase != "" {
		a.phases[o.phase] = true
	}
}

// addRequest records a request URL (query and fragment dropped: they carry
// cache busters and sometimes personal data) seen on page.
func (f *findings) addRequest(raw, typ, page string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	key := u.String()
	if len(key) > 2048 {
		key = clip(key, 2048)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.requests[key]
	if a == nil {
		if len(f.requests) >= maxRequests {
			f.truncated = true
			return
		}
		a = &requestAgg{r: Request{URL: key, ThirdParty: !f.site.contains(u.Hostname()), Type: typ}}
		f.requests[key] = a
	}
	a.pages.add(page)
}

// addStorage records a Web Storage write.
func (f *findings) addStorage(kind, key, origin, initiator, page, phase string) {
	if len(key) > 512 {
		key = clip(key, 512)
	}
	k := storageKey{kind, origin, key}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.storage[k]
	if a == nil {
		if len(f.storage) >= maxStorage {
			f.truncated = true
			return
		}
		third := true
		if u, err := url.Parse(origin); err == nil {
			third = !f.site.contains(u.Hostname())
		}
		a = &storageAgg{s: StorageItem{Key: key, Kind: kind, Origin: origin, ThirdParty: third, Initiator: initiator},
			phases: map[string]bool{}}
		f.storage[k] = a
	}
	a.pages.add(page)
	if phase != "" {
		a.phases[phase] = true
	}
}

// build classifies everything and returns the report's lists, sorted.
// withPhases lists each item's phases (consent runs).
func (f *findings) build(cl *Classifier, withPhases bool) (cookies []Cookie, requests []Request, storage []StorageItem, truncated bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cookies = make([]Cookie, 0, len(f.cookies))
	for _, a := range f.cookies {
		c := a.c
		if !a.expires.IsZero() {
			c.Expires = a.expires.UTC().Format(time.RFC3339)
		}
		c.Pages = slices.Clone(a.pages.list)
		if c.Pages == nil {
			c.Pages = []string{}
		}
		cl := cl.Classify(c.Name, c.Domain)
		c.Category, c.Source, c.Provider, c.Purpose = cl.Category, cl.Source, cl.Provider, cl.Purpose
		if c.Category == Unclassified {
			c.Hint = hint(f.site, c.Name, c.Initiator, c.ThirdParty, a.expires.IsZero(), c.HTTPOnly, a.expires, a.seen)
		}
		c.BeforeConsent = a.phases[PhaseBeforeConsent] && c.Category != Necessary
		c.AfterReject = a.phases[PhaseAfterReject] && c.Category != Necessary
		if withPhases {
			c.Phases = phaseList(a.phases)
		}
		cookies = append(cookies, c)
	}
	slices.SortFunc(cookies, func(a, b Cookie) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Path, b.Path))
	})

	requests = make([]Request, 0, len(f.requests))
	for _, a := range f.requests {
		r := a.r
		r.Pages = slices.Clone(a.pages.list)
		requests = append(requests, r)
	}
	slices.SortFunc(requests, func(a, b Request) int { return cmp.Compare(a.URL, b.URL) })

	for _, a := range f.storage {
		s := a.s
		s.Pages = slices.Clone(a.pages.list)
		host := ""
		if u, err := url.Parse(s.Origin); err == nil {
			host = u.Hostname()
		}
		cl := cl.Classify(s.Key, host)
		s.Category, s.Source, s.Provider, s.Purpose = cl.Category, cl.Source, cl.Provider, cl.Purpose
		if s.Category == Unclassified {
			s.Hint = hint(f.site, s.Key, s.Initiator, s.ThirdParty, false, false, time.Time{}, time.Time{})
		}
		s.BeforeConsent = a.phases[PhaseBeforeConsent] && s.Category != Necessary
		s.AfterReject = a.phases[PhaseAfterReject] && s.Category != Necessary
		if withPhases {
			s.Phases = phaseList(a.phases)
		}
		storage = append(storage, s)
	}
	slices.SortFunc(storage, func(a, b StorageItem) int {
		return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return cookies, requests, storage, f.truncated
}

func phaseList(m map[string]bool) []string {
	var out []string
	for _, p := range []string{PhaseBeforeConsent, PhaseAfterAccept, PhaseAfterReject} {
		if m[p] {
			out = append(out, p)
		}
	}
	return out
}
