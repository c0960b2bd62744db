package scanner

import (
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// registrable returns the registrable domain (eTLD+1) of a host name, by the
// public suffix list: "www.shop.example.co.uk" → "example.co.uk". An IP
// address, a bare public suffix or a single label is its own registrable
// domain. A leading dot (cookie domains) is ignored.
func registrable(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(host), "."), ".")
	if h, _, ok := strings.Cut(host, "%"); ok { // IPv6 zone
		host = h
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return strings.Trim(host, "[]")
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// site is the registrable domain a scan stays within.
type site struct {
	domain string
}

func newSite(u *url.URL) site { return site{domain: registrable(u.Hostname())} }

// contains reports whether host (a URL host name or a cookie domain) belongs
// to the site.
func (s site) contains(host string) bool { return registrable(host) == s.domain }

// containsURL reports whether u is an http(s) URL on the site.
func (s site) containsURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && s.contains(u.Hostname())
}

// thirdParty reports whether raw (an absolute URL) is outside the site. A URL
// that does not parse counts as third party.
func (s site) thirdParty(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return true
	}
	return !s.contains(u.Hostname())
}

// normalizePage resolves ref against base and returns the page URL to crawl:
// http(s) only, no fragment, lower-case host, "/" for an empty path. ok is
// false for anything else (mailto:, javascript:, data:, …).
func normalizePage(base *url.URL, ref string) (*url.URL, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 4096 {
		return nil, false
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, false
	}
	u := r
	if base != nil {
		u = base.ResolveReference(r)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, false
	}
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, true
}
