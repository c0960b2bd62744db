package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"
	"golang.org/x/net/publicsuffix"
)

// resourceSelectors are the HTML elements whose URLs a browser would load:
// the colly engine lists them as requests.
var resourceSelectors = map[string]string{
	"script[src]":            "src",
	"iframe[src]":            "src",
	"frame[src]":             "src",
	"img[src]":               "src",
	"source[src]":            "src",
	"video[src]":             "src",
	"audio[src]":             "src",
	"embed[src]":             "src",
	"track[src]":             "src",
	"input[type=image][src]": "src",
	"object[data]":           "data",
	"link[href]":             "href",
	"video[poster]":          "poster",
	"iframe[data-crumb-src]": "data-crumb-src",
	"script[data-crumb-src]": "data-crumb-src",
	"img[data-src]":          "data-src",
	"iframe[data-src]":       "data-src",
	"body[background]":       "background",
	"table[background]":      "background",
	"td[background]":         "background",
	"a[ping]":                "ping",
	"area[ping]":             "ping",
}

// linkRels are the <link rel> values that make the browser fetch something.
var linkRels = regexp.MustCompile(`(?i)\b(stylesheet|preload|prefetch|preconnect|dns-prefetch|icon|modulepreload|manifest|prerender|apple-touch-icon)\b`)

// scanColly crawls with colly: no JavaScript, so it sees Set-Cookie headers
// and the resources named in the HTML.
func scanColly(ctx context.Context, o Options, start *url.URL) (*Report, error) {
	started := time.Now()
	cr := newCrawl(o, start)
	if err := cr.preflight(ctx); err != nil {
		return nil, err
	}

	// aliases maps the URL colly requests to the planned page URL (colly
	// re-serialises URLs), so cookies are attributed to the planned page.
	var aliasMu sync.Mutex
	aliases := map[string]string{}
	tr := cr.transport()
	defer tr.CloseIdleConnections()
	rec := &recorder{base: tr, c: cr, scanCtx: ctx, pageOf: func(root string) string {
		aliasMu.Lock()
		defer aliasMu.Unlock()
		if p, ok := aliases[root]; ok {
			return p
		}
		return root
	}}
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, fmt.Errorf("scanner: cookie jar: %w", err)
	}

	c := colly.NewCollector(colly.Async(true), colly.StdlibContext(ctx))
	// Set after NewCollector: it reads COLLY_* variables from the
	// environment, and these must not be overridden.
	c.UserAgent = o.UserAgent
	c.MaxBodySize = int(o.MaxBodyBytes)
	c.IgnoreRobotsTxt = false // colly's default ignores robots.txt
	c.AllowURLRevisit = false
	c.MaxDepth = 0
	c.ParseHTTPErrorResponse = false
	c.CacheDir = ""
	c.WithTransport(rec)
	c.SetCookieJar(jar)
	c.SetRequestTimeout(o.Timeout)
	c.SetRedirectHandler(cr.checkRedirect)

	// One limit rule for the whole site, set before any request: colly's
	// Limit is not safe while requests run, and a site's hosts usually share
	// servers, so the site as a whole gets Parallelism requests at a time.
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: o.Parallelism, Delay: o.Delay}); err != nil {
		return nil, fmt.Errorf("scanner: limit rule: %w", err)
	}

	// request asks colly for a planned page.
	request := func(u *url.URL) {
		s := u.String()
		cctx := colly.NewContext()
		cctx.Put("page", s)
		if err := c.Request(http.MethodGet, s, nil, cctx, nil); err != nil {
			var av *colly.AlreadyVisitedError
			switch {
			case errors.Is(err, colly.ErrRobotsTxtBlocked), errors.As(err, &av):
				cr.unplan(s)
			default:
				cr.finish(Page{URL: s, Error: errorText(err)})
			}
		}
	}
	// visit plans a batch of pages at once, then requests them: a page's
	// links are all planned before any of them is fetched, so the crawl is
	// breadth-first and a deep chain of links cannot crowd out the pages
	// near the start.
	visit := func(us []*url.URL) {
		if ctx.Err() != nil {
			return
		}
		for _, u := range cr.planAll(us) {
			request(u)
		}
	}
	c.OnRequest(func(r *colly.Request) {
		if p := r.Ctx.Get("page"); p != "" {
			aliasMu.Lock()
			aliases[r.URL.String()] = p
			aliasMu.Unlock()
		}
	})
	c.OnResponse(func(r *colly.Response) {
		p := Page{URL: r.Ctx.Get("page"), Status: r.StatusCode}
		if f := r.Request.URL.String(); f != p.URL {
			p.FinalURL = f
		}
		cr.finish(p)
	})
	c.OnError(func(r *colly.Response, err error) {
		p := Page{URL: r.Ctx.Get("page"), Status: r.StatusCode, Error: errorText(err)}
		if r.StatusCode >= 300 && r.StatusCode < 400 {
			p.Error = "redirect to another site, not followed"
		}
		if r.Request != nil && r.Request.URL != nil {
			if f := r.Request.URL.String(); f != p.URL {
				p.FinalURL = f
			}
		}
		var av *colly.AlreadyVisitedError
		if errors.As(err, &av) {
			// A redirect led to a page crawled already.
			p.Error = "redirects to a page already scanned"
			if av.Destination != nil {
				p.FinalURL = av.Destination.String()
			}
		}
		cr.finish(p)
	})
	c.OnHTML("a[href], area[href]", func(e *colly.HTMLElement) {
		if u, ok := normalizePage(nil, e.Request.AbsoluteURL(e.Attr("href"))); ok {
			links, _ := e.Request.Ctx.GetAny("links").([]*url.URL)
			if len(links) < maxLinks {
				e.Request.Ctx.Put("links", append(links, u))
			}
		}
	})
	c.OnScraped(func(r *colly.Response) {
		links, _ := r.Ctx.GetAny("links").([]*url.URL)
		visit(links)
	})
	page := func(e *colly.HTMLElement) string { return e.Request.Ctx.Get("page") }
	for sel, attr := range resourceSelectors {
		c.OnHTML(sel, func(e *colly.HTMLElement) {
			if sel == "link[href]" && !linkRels.MatchString(e.Attr("rel")) {
				return
			}
			for _, ref := range resourceURLs(e.Attr(attr), attr) {
				abs := e.Request.AbsoluteURL(ref)
				if abs == "" {
					continue
				}
				cr.f.addRequest(abs, resourceType(e.Name, e.Attr("rel")), page(e))
			}
		})
	}

	// Sitemaps go through the same guarded, recording transport.
	client := &http.Client{Transport: rec, Jar: jar, Timeout: o.Timeout, CheckRedirect: cr.checkRedirect}
	seeds := []*url.URL{start}
	for _, s := range discoverPages(ctx, client, start, cr.site, o.UserAgent, o.MaxBodyBytes, o.Pages) {
		if u, err := url.Parse(s); err == nil {
			seeds = append(seeds, u)
		}
	}
	visit(seeds)
	c.Wait()
	rep := cr.report(started, ctx.Err())
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("scanner: scan of %s stopped: %w", start.Host, err)
	}
	return rep, nil
}

// resourceURLs splits an attribute into the URLs it names (ping and srcset
// hold several).
func resourceURLs(v, attr string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if attr == "ping" {
		return strings.Fields(v)
	}
	return []string{v}
}

func resourceType(tag, rel string) string {
	switch tag {
	case "link":
		if linkRels.MatchString(rel) {
			return strings.ToLower(linkRels.FindString(rel))
		}
		return "link"
	case "frame":
		return "iframe"
	case "source", "track":
		return "media"
	case "a", "area":
		return "ping"
	case "body", "table", "td", "input":
		return "img"
	}
	return tag
}

// errorText is the message of err for a report, without the "scanner:"
// prefix chains of wrapped errors.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clip(err.Error(), 300)
}
