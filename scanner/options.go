package scanner

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Errors callers branch on. Each is returned wrapped with context; test with
// errors.Is.
var (
	// ErrPrivateTarget: the target resolves only to loopback, private,
	// link-local or other special addresses and AllowPrivate is not set.
	ErrPrivateTarget = errors.New("scanner: target address is private")
	// ErrBadURL: the start URL is not an absolute http(s) URL with a host.
	ErrBadURL = errors.New("scanner: bad start URL")
	// ErrBadOptions: an option is out of range or unknown (engine, consent).
	ErrBadOptions = errors.New("scanner: bad options")
	// ErrNoBrowser: the chrome engine was asked for and no Chromium or
	// Chrome executable was found.
	ErrNoBrowser = errors.New("scanner: no Chromium or Chrome executable found")
	// ErrNotFound: no such job, report or schedule in the store.
	ErrNotFound = errors.New("scanner: not found")
	// ErrBadCSV: the Open Cookie Database file is not in its CSV format.
	ErrBadCSV = errors.New("scanner: not an Open Cookie Database CSV")
	// ErrBadCategory: a category other than the four of the banner.
	ErrBadCategory = errors.New("scanner: unknown category")
	// ErrBusy: the runner already has its maximum of running jobs.
	ErrBusy = errors.New("scanner: too many scans running")
)

// Defaults and limits of Options.
const (
	DefaultPages             = 50
	MaxPages                 = 10000
	DefaultTimeout           = 15 * time.Second
	DefaultDelay             = 20 * time.Millisecond
	DefaultParallelism       = 4
	DefaultChromeParallelism = 4
	DefaultMaxBodyBytes      = 5 << 20
	DefaultMaxRedirects      = 10
	DefaultUserAgent         = "CrumbScanner/1 (+cookie audit; honours robots.txt)"

	maxCookies  = 5000 // distinct cookies kept per scan
	maxRequests = 5000 // distinct requests kept per scan
	maxStorage  = 2000 // distinct storage keys kept per scan
	maxSitemaps = 20   // sitemap documents fetched per scan
)

// Options configure one scan. The zero value of every field but URL is a
// sane default.
type Options struct {
	URL    string // start URL; "example.com" means "https://example.com/"
	Pages  int    // maximum pages to load, default 50, at most 10000
	Engine string // EngineColly (default) or EngineChrome

	// AllowPrivate lets the scan connect to loopback, private, link-local
	// and other special addresses. They are refused at dial time, after DNS,
	// otherwise — for every request, redirects and the browser included.
	AllowPrivate bool

	// Consent (chrome engine): "" runs each page once with no consent; "all"
	// also runs it after Accept all and after Reject all in the Crumb
	// banner, and reports what changes.
	Consent string

	// Classifier classifies the cookies; nil means NewClassifier(), the
	// built-in database.
	Classifier *Classifier

	// Progress, when set, is called as pages finish with the number done and
	// the number planned so far (planned grows as links are found). It is
	// called from the scan's goroutines, one call at a time.
	Progress func(done, planned int)

	UserAgent    string        // default DefaultUserAgent
	Timeout      time.Duration // per response (colly) or per page load (chrome), default 15s
	Delay        time.Duration // pause after each request before the next in its slot, default 20ms; negative for none
	Parallelism  int           // requests in flight to the site (colly) or tabs (chrome), default 4
	MaxBodyBytes int64         // per response body, default 5 MiB
	MaxRedirects int           // per page, default 10

	// Resolver looks host names up; nil means net.DefaultResolver. The
	// private-address check applies to what it returns.
	Resolver Resolver

	// Browser (chrome engine) is a running browser to share between scans;
	// nil starts one for this scan and stops it at the end.
	Browser *Browser

	// isPublic replaces PublicAddr in tests, which need one loopback
	// address to count as public and another as private.
	isPublic func(netip.Addr) bool
}

// withDefaults validates o and fills in defaults. It returns the parsed start
// URL.
func (o Options) withDefaults() (Options, *url.URL, error) {
	switch o.Engine {
	case "":
		o.Engine = EngineColly
	case EngineColly, EngineChrome:
	default:
		return o, nil, fmt.Errorf("%w: engine %q (want colly or chrome)", ErrBadOptions, o.Engine)
	}
	switch o.Consent {
	case "":
	case "all":
		if o.Engine != EngineChrome {
			return o, nil, fmt.Errorf("%w: consent runs need the chrome engine", ErrBadOptions)
		}
	default:
		return o, nil, fmt.Errorf("%w: consent %q (want \"\" or \"all\")", ErrBadOptions, o.Consent)
	}
	if o.Pages < 0 || o.Pages > MaxPages {
		return o, nil, fmt.Errorf("%w: pages %d (want 1 to %d)", ErrBadOptions, o.Pages, MaxPages)
	}
	if o.Pages == 0 {
		o.Pages = DefaultPages
	}
	if o.Timeout < 0 || o.MaxBodyBytes < 0 || o.Parallelism < 0 || o.MaxRedirects < 0 {
		return o, nil, fmt.Errorf("%w: negative timeout, body size, parallelism or redirects", ErrBadOptions)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Delay == 0:
		o.Delay = DefaultDelay
	case o.Delay < 0:
		o.Delay = 0
	}
	if o.Parallelism == 0 {
		o.Parallelism = DefaultParallelism
		if o.Engine == EngineChrome {
			o.Parallelism = DefaultChromeParallelism
		}
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Classifier == nil {
		o.Classifier = NewClassifier()
	}
	u, err := ParseTarget(o.URL)
	if err != nil {
		return o, nil, err
	}
	o.URL = u.String()
	return o, u, nil
}

// ParseTarget parses a scan's start URL: an absolute http or https URL with a
// host, no user info. A bare host ("example.com") means https. The fragment
// is dropped.
func ParseTarget(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadURL)
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q: scheme must be http or https", ErrBadURL, raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %q: no host", ErrBadURL, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %q: user info is not allowed", ErrBadURL, raw)
	}
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}
