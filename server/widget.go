package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/widget"
)

// widgetCacheControl is short so that a new banner version reaches visitors
// within minutes; the strong ETag makes revalidation cheap.
const widgetCacheControl = "public, max-age=300, stale-while-revalidate=3600"

// renderedWidget is one widget.js variant with its compressed forms.
type renderedWidget struct {
	etag          string
	plain, gz, br []byte
}

// widgetCache holds rendered variants keyed by site, version, scan report,
// rule set and languages. Entries never go stale (a new version or report is
// a new key); when the cache is full an arbitrary entry makes room. A miss is
// rendered once however many requests wait for it (single flight).
type widgetCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]*renderedWidget
	pending map[string]*renderFlight
	configs map[string]widget.Config // banner configs with scan findings, by site|version|report
}

type renderFlight struct {
	done chan struct{}
	w    *renderedWidget
	err  error
}

func newWidgetCache(max int) *widgetCache {
	return &widgetCache{max: max, entries: map[string]*renderedWidget{}, pending: map[string]*renderFlight{}, configs: map[string]widget.Config{}}
}

func (wc *widgetCache) get(key string, render func() ([]byte, error)) (*renderedWidget, error) {
	wc.mu.RLock()
	w, ok := wc.entries[key]
	wc.mu.RUnlock()
	if ok {
		return w, nil
	}
	wc.mu.Lock()
	if w, ok := wc.entries[key]; ok {
		wc.mu.Unlock()
		return w, nil
	}
	if f, ok := wc.pending[key]; ok {
		wc.mu.Unlock()
		<-f.done
		return f.w, f.err
	}
	f := &renderFlight{done: make(chan struct{})}
	wc.pending[key] = f
	wc.mu.Unlock()

	f.w, f.err = renderVariant(render)
	wc.mu.Lock()
	delete(wc.pending, key)
	if f.err == nil {
		if len(wc.entries) >= wc.max {
			for k := range wc.entries {
				delete(wc.entries, k)
				break
			}
		}
		wc.entries[key] = f.w
	}
	wc.mu.Unlock()
	close(f.done)
	return f.w, f.err
}

// renderVariant renders and compresses one variant. Brotli quality 5 costs
// ~3 ms for a widget where 11 costs ~80 ms, for ~7% more bytes: a cache miss
// should not stall the visitors waiting on it.
func renderVariant(render func() ([]byte, error)) (*renderedWidget, error) {
	plain, err := render()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(plain)
	w := &renderedWidget{etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, plain: plain}
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gw.Write(plain)
	gw.Close()
	w.gz = bytes.Clone(buf.Bytes())
	buf.Reset()
	bw := brotli.NewWriterLevel(&buf, 5)
	bw.Write(plain)
	bw.Close()
	w.br = bytes.Clone(buf.Bytes())
	return w, nil
}

// config parses a banner version and adds a scan's findings once per pair;
// versions and reports are immutable, so the result never goes stale.
func (wc *widgetCache) config(site string, b account.Banner, found *scanFindings) (widget.Config, error) {
	key := site + "|" + b.Version + "|" + found.report
	wc.mu.RLock()
	cfg, ok := wc.configs[key]
	wc.mu.RUnlock()
	if ok {
		return cfg, nil
	}
	cfg, err := widget.ParseConfig(b.Config)
	if err != nil {
		// Configs are validated before they are stored: this is our fault,
		// not the visitor's (a 500, not a 400).
		return widget.Config{}, fmt.Errorf("stored banner %s of site %s: %v", b.Version, site, err)
	}
	cfg = withFindings(cfg, found)
	wc.mu.Lock()
	if len(wc.configs) >= wc.max {
		for k := range wc.configs {
			delete(wc.configs, k)
			break
		}
	}
	wc.configs[key] = cfg
	wc.mu.Unlock()
	return cfg, nil
}

// visitorPage assembles what a widget response depends on for this request.
func (s *Server) visitorPage(c *fiber.Ctx) (widget.Page, string, error) {
	site, err := s.site(c)
	if err != nil {
		return widget.Page{}, "", err
	}
	banner, err := s.deps.Sites.CurrentBanner(site.ID)
	if err != nil {
		return widget.Page{}, "", err
	}
	found := s.findings(site.ID)
	cfg, err := s.widgets.config(site.ID, banner, found)
	if err != nil {
		return widget.Page{}, "", err
	}
	langs := cfg.PickLanguages(widget.ParseAcceptLanguage(c.Get(fiber.HeaderAcceptLanguage)))
	share, shareKey := s.shareDomains(site, cfg)
	page := widget.Page{
		Site: site.ID, API: s.api, Version: banner.Version, RuleSet: s.ruleSet(c),
		Config: cfg, Languages: langs, ShareDomains: share,
	}
	key := strings.Join([]string{site.ID, banner.Version, found.report, page.RuleSet, strings.Join(langs, ","), shareKey}, "|")
	return page, key, nil
}

func (s *Server) ruleSet(c *fiber.Ctx) string {
	if s.deps.Regions == nil {
		return widget.OptIn
	}
	addr, _ := netip.ParseAddr(consent.AnonymizeIP(s.clientAddr(c)))
	_, rule := s.deps.Regions.Lookup(addr)
	if rule == "" {
		return widget.OptIn
	}
	return rule
}

// handleWidget serves the banner: bundle plus the site's config for this
// visitor's languages and region, in one response.
func (s *Server) handleWidget(c *fiber.Ctx) error {
	page, key, err := s.visitorPage(c)
	if err != nil {
		return err
	}
	w, err := s.widgets.get(key, func() ([]byte, error) { return widget.Render(page) })
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, widgetCacheControl)
	c.Set(fiber.HeaderVary, "Accept-Encoding, Accept-Language")
	c.Set("Crumb-Rule-Set", page.RuleSet)
	c.Set(fiber.HeaderETag, w.etag)
	c.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), w.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	switch accepts(c.Get(fiber.HeaderAcceptEncoding)) {
	case "br":
		c.Set(fiber.HeaderContentEncoding, "br")
		return c.Send(w.br)
	case "gzip":
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(w.gz)
	}
	return c.Send(w.plain)
}

// handleSiteConfig serves the resolved config for sites with their own UI.
func (s *Server) handleSiteConfig(c *fiber.Ctx) error {
	page, _, err := s.visitorPage(c)
	if err != nil {
		return err
	}
	body, err := widget.PublicConfig(page)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderVary, "Accept-Language")
	c.Set("Crumb-Rule-Set", page.RuleSet)
	return c.Send(body)
}

// accepts picks brotli or gzip when the client accepts it with a non-zero q.
func accepts(header string) string {
	best := ""
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(strings.TrimSpace(params), " ", "") == "q=0" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "br":
			return "br"
		case "gzip":
			best = "gzip"
		}
	}
	return best
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
