package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// crawl is the state both engines share: the pages planned and done, and
// what was found.
type crawl struct {
	o     Options
	start *url.URL
	site  site
	f     *findings
	g     *guard

	mu         sync.Mutex
	planned    []string
	plannedSet map[string]bool
	results    map[string]Page
	limited    bool // a page was left out because of Options.Pages
}

func newCrawl(o Options, start *url.URL) *crawl {
	s := newSite(start)
	return &crawl{o: o, start: start, site: s, f: newFindings(s),
		g:          newGuard(o.AllowPrivate, o.isPublic, o.Resolver, o.Timeout),
		plannedSet: map[string]bool{}, results: map[string]Page{}}
}

// preflight resolves the start host and refuses a private target up front,
// so that the caller gets ErrPrivateTarget rather than a report of failed
// pages.
func (c *crawl) preflight(ctx context.Context) error {
	_, err := c.g.resolve(ctx, c.start.Hostname())
	return err
}

// planLocked reserves a page for crawling. It returns false when the page
// is off the site, already planned, or the page budget is spent.
func (c *crawl) planLocked(u *url.URL) bool {
	if !c.site.containsURL(u) {
		return false
	}
	s := u.String()
	if c.plannedSet[s] {
		return false
	}
	if len(c.planned) >= c.o.Pages {
		c.limited = true
		return false
	}
	c.plannedSet[s] = true
	c.planned = append(c.planned, s)
	return true
}

// planAll plans several pages under one lock and returns those planned.
func (c *crawl) planAll(us []*url.URL) []*url.URL {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*url.URL
	for _, u := range us {
		if c.planLocked(u) {
			out = append(out, u)
		}
	}
	if len(out) > 0 {
		c.progressLocked()
	}
	return out
}

// unplan gives a reservation back (robots.txt refused the page, or it was
// reached already through a redirect).
func (c *crawl) unplan(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.plannedSet[s] {
		return
	}
	delete(c.plannedSet, s)
	for i, p := range c.planned {
		if p == s {
			c.planned = append(c.planned[:i], c.planned[i+1:]...)
			break
		}
	}
	c.progressLocked()
}

// finish records the outcome of a planned page.
func (c *crawl) finish(p Page) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.results[p.URL]; ok || !c.plannedSet[p.URL] {
		return
	}
	c.results[p.URL] = p
	c.progressLocked()
}

func (c *crawl) progressLocked() {
	if c.o.Progress != nil {
		c.o.Progress(len(c.results), len(c.planned))
	}
}

// report assembles the report: pages in planned order (those that finished).
func (c *crawl) report(started time.Time, ctxErr error) *Report {
	cookies, requests, storage, truncated := c.f.build(c.o.Classifier, c.o.Consent == "all")
	c.mu.Lock()
	pages := make([]Page, 0, len(c.results))
	for _, s := range c.planned {
		if p, ok := c.results[s]; ok {
			pages = append(pages, p)
		}
	}
	truncated = truncated || c.limited || len(pages) < len(c.planned) || ctxErr != nil
	c.mu.Unlock()
	return &Report{
		URL: c.start.String(), Engine: c.o.Engine,
		Started: started.UTC(), Finished: time.Now().UTC(),
		Pages: pages, Cookies: cookies, Requests: requests, Storage: storage,
		Consent: c.o.Consent, Truncated: truncated,
	}
}

// transport is the guarded HTTP transport of a scan: every connection goes
// through the guard's dialer, no proxy from the environment, bounded waits.
func (c *crawl) transport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            c.g.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    c.o.Timeout,
		ResponseHeaderTimeout:  c.o.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    c.o.Parallelism + 2,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 256 << 10,
	}
}

// checkRedirect follows redirects within the site, up to MaxRedirects hops.
// A redirect off the site is not followed: the page keeps the 3xx answer.
func (c *crawl) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.o.MaxRedirects {
		return fmt.Errorf("%w (more than %d)", errTooManyRedirects, c.o.MaxRedirects)
	}
	if !c.site.containsURL(req.URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

var errTooManyRedirects = errors.New("scanner: too many redirects")

// recorder is an http.RoundTripper that records every Set-Cookie of every
// response, redirect hops included, and caps response bodies.
type recorder struct {
	base    http.RoundTripper
	c       *crawl
	scanCtx context.Context
	pageOf  func(root string) string // chain root URL → planned page URL
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := r.scanCtx.Err(); err != nil {
		return nil, err
	}
	// Requests colly makes without a context (robots.txt) still end with
	// the scan.
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(r.scanCtx, cancel)
	resp, err := r.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Request = req
	root := req
	for root.Response != nil && root.Response.Request != nil {
		root = root.Response.Request
	}
	page := root.URL.String()
	if r.pageOf != nil {
		page = r.pageOf(page)
	}
	now := time.Now()
	for _, line := range resp.Header.Values("Set-Cookie") {
		if o, ok := parseSetCookie(line, req.URL, now); ok {
			o.setBy, o.initiator, o.page, o.phase = SetByHeader, clip(req.URL.String(), 2048), page, PhaseBeforeConsent
			r.c.f.addCookie(o)
		}
	}
	resp.Body = &cappedBody{rc: resp.Body, left: r.c.o.MaxBodyBytes, done: func() { stop(); cancel() }}
	return resp, nil
}

// cappedBody ends a response body after a number of bytes, so no reader of
// the scan (robots.txt parser included) can be made to buffer more.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	done func()
	once sync.Once
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(b.done)
	return err
}
