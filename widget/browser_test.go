package widget

// Browser tests: the bundle in real headless Chromium (chromedp), against a loopback
// harness that serves test pages, widget.js (rendered by Render) and a consent endpoint that
// records every POST and answers like the contract of DESIGN §4 (201, or 200 for a repeated
// nonce), and the shared-consent lookup GET /v1/sites/{site}/shared/{id}. The harness's
// site server is two sites: site1 on 127.0.0.1, site2 on localhost (same port). One browser
// per test binary; each test gets its own browser context (a fresh profile: no cookies, no
// cache).
//
// Without Chromium the tests skip, unless CRUMB_REQUIRE_BROWSER=1 makes them fail. The
// browser is $CRUMB_CHROMIUM when set, else /usr/bin/chromium, chromium, chromium-browser or
// google-chrome from PATH.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/crumb-consent/crumb/internal/browsertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	os.Exit(code)
}

// newTab returns a chromedp context for a new tab in a new browser context.
func newTab(t testing.TB) context.Context {
	t.Helper()
	return browsertest.Tab(t, 45*time.Second)
}

// ---- the loopback harness --------------------------------------------------------------

type post struct {
	Body    map[string]any
	Header  http.Header
	Status  int
	Preflit bool
}

type record struct {
	id, receipt string
	body        map[string]any // the POST that made it
	time        time.Time
}

type harness struct {
	t        testing.TB
	site     *httptest.Server // pages, widget.js, scripts, frames
	api      *httptest.Server // POST /v1/consent
	mu       sync.Mutex
	cfg      Config
	cfg2     *Config             // site2's config (pages on localhost); nil: cfg
	share    map[string][]string // share domains per site id (Page.ShareDomains)
	lookups  []string            // site/id of every shared-consent lookup
	lookupIn time.Duration       // how long the lookup waits before it answers
	noShare  bool                // the lookup answers 404
	queries  map[string]string   // the last query string asked for, by path
	rule     string
	version  string
	pages    map[string]string
	header   map[string]string // extra response headers of pages
	statuses []int             // next answers of the consent endpoint; then 201
	posts    []post
	records  map[string]record // nonce → consent, as the ledger dedupes
	hits     map[string]int
}

func newHarness(t testing.TB, cfg Config) *harness {
	h := &harness{t: t, cfg: cfg, rule: OptIn, pages: map[string]string{}, header: map[string]string{},
		records: map[string]record{}, hits: map[string]int{}, share: map[string][]string{}, queries: map[string]string{}}
	h.site = httptest.NewServer(http.HandlerFunc(h.serveSite))
	h.api = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	t.Cleanup(func() { h.site.Close(); h.api.Close() })
	return h
}

func (h *harness) set(f func(h *harness)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// siteOf says which of the harness's two sites a request is for: site2 on localhost,
// site1 on any other host.
func siteOf(r *http.Request) string {
	if strings.HasPrefix(r.Host, "localhost:") {
		return "site2"
	}
	return "site1"
}

func (h *harness) serveSite(w http.ResponseWriter, r *http.Request) {
	site := siteOf(r)
	h.mu.Lock()
	h.hits[r.URL.Path]++
	h.queries[r.URL.Path] = r.URL.RawQuery
	cfg, rule, version := h.cfg, h.rule, h.version
	if site == "site2" && h.cfg2 != nil {
		cfg, version = *h.cfg2, ""
	}
	share := h.share[site]
	html, isPage := h.pages[r.URL.Path]
	hdr := h.header
	h.mu.Unlock()
	switch {
	case r.URL.Path == "/widget.js":
		if version == "" {
			version = VersionOf(cfg.Canonical())
		}
		js, err := Render(Page{Site: site, API: h.api.URL, Version: version, RuleSet: rule, Config: cfg,
			Languages: ParseAcceptLanguage(r.Header.Get("Accept-Language")), ShareDomains: share})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(js)
	case strings.HasPrefix(r.URL.Path, "/s/"):
		// A script that notes that it ran: /s/a.js pushes "a"; ?delay=ms answers late.
		if d, _ := strconv.Atoi(r.URL.Query().Get("delay")); d > 0 && d <= 2000 {
			time.Sleep(time.Duration(d) * time.Millisecond)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/s/"), ".js")
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "(window.ran=window.ran||[]).push(%q);", name)
	case strings.HasPrefix(r.URL.Path, "/frame"):
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>framed</p>")
	case isPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		fmt.Fprint(w, html)
	default:
		http.NotFound(w, r)
	}
}

func (h *harness) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		h.mu.Lock()
		h.posts = append(h.posts, post{Preflit: true, Header: r.Header.Clone()})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/sites/") {
		h.serveShared(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/consent" {
		http.NotFound(w, r)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		http.Error(w, `{"error":"read"}`, 400)
		return
	}
	var body map[string]any
	p := post{Header: r.Header.Clone()}
	if err := json.Unmarshal(raw, &body); err != nil {
		p.Status = 400
	}
	p.Body = body
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.Status == 0 && len(h.statuses) > 0 {
		p.Status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	if p.Status != 0 {
		h.posts = append(h.posts, p)
		w.WriteHeader(p.Status)
		fmt.Fprint(w, `{"error":"harness says no"}`)
		return
	}
	if err := checkConsentBody(body); err != nil {
		h.t.Errorf("the widget sent a consent the server would refuse: %v\n%s", err, raw)
		p.Status = 400
		h.posts = append(h.posts, p)
		w.WriteHeader(p.Status)
		return
	}
	nonce, _ := body["nonce"].(string)
	rec, dup := h.records[nonce]
	p.Status = 200
	if !dup {
		p.Status = 201
		rec = h.issue(body)
		h.records[nonce] = rec
	}
	if from, ok := body["shared_from"].(string); ok && h.byID(from).id == "" {
		h.t.Errorf("shared_from %q names no consent the server has", from)
	}
	h.posts = append(h.posts, p)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(map[string]any{"id": rec.id, "index": len(h.records) - 1, "receipt": rec.receipt})
}

// serveShared answers GET /v1/sites/{site}/shared/{id} as the server does: 200 with the
// consent (id, site, state, method, gpc, time) when it exists and the asking site shares,
// else 404. The harness counts one account: every site that has share domains shares.
func (h *harness) serveShared(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/sites/"), "/")
	if len(parts) != 3 || parts[1] != "shared" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Cookie") != "" {
		h.t.Error("the shared-consent lookup carried cookies")
	}
	h.mu.Lock()
	h.lookups = append(h.lookups, parts[0]+"/"+parts[2])
	wait, refuse := h.lookupIn, h.noShare || len(h.share[parts[0]]) == 0
	rec := h.byID(parts[2])
	h.mu.Unlock()
	time.Sleep(wait)
	if refuse || rec.id == "" || rec.body["site"] == parts[0] {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"no such consent"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": rec.id, "site": rec.body["site"], "state": rec.body["state"],
		"method": rec.body["method"], "gpc": rec.body["gpc"] == true, "time": rec.time.UTC().Format(time.RFC3339)})
}

// byID finds a consent by its id; h.mu must be held.
func (h *harness) byID(id string) record {
	for _, rec := range h.records {
		if rec.id == id {
			return rec
		}
	}
	return record{}
}

// checkConsentBody holds a POST body to the rules of POST /v1/consent (DESIGN §3, §4):
// exact fields, a full state with necessary, the method agreeing with the state, a
// withdrawal naming what it withdraws, a 16–64 character URL-safe nonce.
func checkConsentBody(b map[string]any) error {
	allowed := map[string]bool{"site": true, "url": true, "state": true, "method": true, "version": true, "nonce": true, "replaces": true, "gpc": true, "shared_from": true}
	for k := range b {
		if !allowed[k] {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	for _, k := range []string{"site", "url", "method", "version", "nonce"} {
		if s, ok := b[k].(string); !ok || s == "" {
			return fmt.Errorf("%s missing or not a string", k)
		}
	}
	if u := b["url"].(string); !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") || strings.Contains(u, "#") {
		return fmt.Errorf("url %q", u)
	}
	urlSafeRe := func(s string) bool {
		return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
	}
	if n := b["nonce"].(string); len(n) < 16 || len(n) > 64 || !urlSafeRe(n) {
		return fmt.Errorf("nonce %q", n)
	}
	st, ok := b["state"].(map[string]any)
	if !ok || len(st) != 4 || st["necessary"] != true {
		return fmt.Errorf("state %v", b["state"])
	}
	var on, off int
	for _, c := range CategoryIDs[1:] {
		switch st[c] {
		case true:
			on++
		case false:
			off++
		default:
			return fmt.Errorf("state.%s %v", c, st[c])
		}
	}
	r, hasR := b["replaces"].(string)
	if _, present := b["replaces"]; present && (!hasR || len(r) != 22 || !urlSafeRe(r)) {
		return fmt.Errorf("replaces %v", b["replaces"])
	}
	if g, present := b["gpc"]; present && g != true && g != false {
		return fmt.Errorf("gpc %v", g)
	}
	if f, present := b["shared_from"]; present {
		if s, ok := f.(string); !ok || len(s) != 22 || !urlSafeRe(s) {
			return fmt.Errorf("shared_from %v", f)
		}
	}
	switch b["method"] {
	case "accept_all":
		if off > 0 {
			return errors.New("accept_all with a denied category")
		}
	case "reject_all":
		if on > 0 {
			return errors.New("reject_all with a granted category")
		}
	case "withdraw":
		if on > 0 || !hasR {
			return errors.New("withdraw must deny all and name the consent it replaces")
		}
	case "gpc":
		if st["marketing"] == true {
			return errors.New("gpc with marketing granted")
		}
	case "custom":
	default:
		return fmt.Errorf("method %v", b["method"])
	}
	return nil
}

// issue makes a consent id and a receipt shaped like the server's (a JWT whose payload
// has jti, sub, iat, exp, state, ver, idx). The signature is not checked by the widget,
// so the harness does not make a real one.
func (h *harness) issue(body map[string]any) record {
	id := randomString()
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"jti": id, "sub": body["site"], "iat": now, "exp": now + 365*86400,
		"state": body["state"], "ver": body["version"], "idx": len(h.records)})
	enc := base64.RawURLEncoding
	jwt := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("harness"))
	return record{id: id, receipt: jwt, body: body, time: time.Unix(now, 0)}
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *harness) page(path, html string) string {
	h.set(func(h *harness) { h.pages[path] = html })
	return h.site.URL + path
}

// consentPosts returns the POSTs received so far (no preflights).
func (h *harness) consentPosts() []post {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []post
	for _, p := range h.posts {
		if !p.Preflit {
			out = append(out, p)
		}
	}
	return out
}

// waitPosts waits until n consent POSTs have arrived and returns them.
func (h *harness) waitPosts(n int) []post {
	h.t.Helper()
	for range 200 {
		if ps := h.consentPosts(); len(ps) >= n {
			return ps
		}
		time.Sleep(25 * time.Millisecond)
	}
	h.t.Fatalf("waited for %d consent POSTs, got %d", n, len(h.consentPosts()))
	return nil
}

// recordID is the consent id the endpoint gave the POST with this nonce.
func (h *harness) recordID(p post) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, _ := p.Body["nonce"].(string)
	return h.records[n].id
}

func (h *harness) hitCount(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

// ---- test pages ------------------------------------------------------------------------

const recorder = `<script>window.events=[];window.ran=[];document.addEventListener('crumb:consent',function(e){events.push(e.detail)});</script>`

// blocked is a body with blocked scripts and an iframe: their run order shows in window.ran.
const blocked = `
<h1>Test page</h1><input id="search">
<script type="text/plain" data-crumb-category="statistics">ran.push('stat1')</script>
<script type="text/plain" data-crumb-category="statistics" src="/s/a.js?delay=300"></script>
<script type="text/plain" data-crumb-category="statistics">ran.push('stat2')</script>
<script type="text/plain" data-crumb-category="marketing">ran.push('mkt')</script>
<script type="text/plain" data-crumb-category="statistics marketing">ran.push('both')</script>
<iframe data-crumb-src="/frame" data-crumb-category="marketing" width="320" height="180" title="video"></iframe>
`

func htmlPage(head, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shop</title>` + recorder + head +
		`<script src="/widget.js" async></script></head><body>` + body + `</body></html>`
}

func testConfig() Config {
	c := DefaultConfig()
	c.PrivacyURL = "https://example.com/privacy"
	c.ConsentMode = true
	c.Services = []Service{
		{Name: "Analytics", Category: Statistics, Description: map[string]string{"en": "Counts visits."}, Cookies: []string{"_ga", "_ga_*"}},
		{Name: "Video", Category: Marketing, Description: map[string]string{"en": "Shows videos."}, Cookies: []string{"mk"}},
	}
	c.Cookies = []DeclaredCookie{
		{Name: "_ga", Category: Statistics, Provider: "Google", Purpose: "<b>Counts</b> visitors", Expiry: "2 years"},
		{Name: "crumb_consent", Category: Necessary, Provider: "This site", Purpose: "Keeps your choice.", Expiry: "1 year"},
	}
	return c
}

// ---- actions ---------------------------------------------------------------------------

func evalJS[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

func waitJS(t testing.TB, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", js, err)
	}
}

func navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
	waitJS(t, ctx, `!!window.Crumb`)
}

const sr = `document.querySelector('crumb-consent').shadowRoot`

// bannerVisible is true when the dialog is rendered with a size and is what a click at its
// centre would hit.
const bannerVisible = `(() => { const h = document.querySelector('crumb-consent'); if (!h) return false;
	const b = h.shadowRoot.querySelector('[role=dialog]'); if (!b || !b.checkVisibility()) return false;
	const r = b.getBoundingClientRect(); if (r.width < 50 || r.height < 50) return false;
	return h.shadowRoot.elementFromPoint(r.x + r.width/2, r.y + r.height/2) !== null })()`

// click presses the mouse on the centre of the banner element matching sel, as a visitor
// would: the element must be visible and on top.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	var pt struct {
		X, Y float64
		Top  bool
	}
	js := fmt.Sprintf(`(() => { const e = %s.querySelector(%q); if (!e || !e.checkVisibility()) return null;
		const r = e.getBoundingClientRect(); const x = r.x + r.width/2, y = r.y + r.height/2;
		const hit = %s.elementFromPoint(x, y);
		return {X: x, Y: y, Top: !!hit && (hit === e || e.contains(hit))} })()`, sr, sel, sr)
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s not visible: %v", sel, err)
	}
	pt = evalJS[struct {
		X, Y float64
		Top  bool
	}](t, ctx, js)
	if !pt.Top {
		t.Fatalf("%s is covered by something else", sel)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(pt.X, pt.Y)); err != nil {
		t.Fatal(err)
	}
}

func key(t *testing.T, ctx context.Context, keys string, opts ...chromedp.KeyOption) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		t.Fatal(err)
	}
}

// focused describes the element focused inside the banner: its data-action,
// data-category, role or tag.
const focused = `(() => { const a = ` + sr + `.activeElement; if (!a) return document.activeElement ? 'page:' + document.activeElement.tagName : '';
	return a.getAttribute('data-action') || a.getAttribute('data-category') || a.getAttribute('role') || a.tagName })()`

func ranScripts(t *testing.T, ctx context.Context) string {
	return strings.Join(evalJS[[]string](t, ctx, `window.ran`), ",")
}

func cookieValue(t *testing.T, ctx context.Context) string {
	return evalJS[string](t, ctx, `(document.cookie.match(/(?:^|; )crumb_consent=([^;]*)/) || [,''])[1]`)
}

func state(p post) string {
	s, _ := p.Body["state"].(map[string]any)
	var on []string
	for _, c := range CategoryIDs {
		if s[c] == true {
			on = append(on, c)
		}
	}
	return strings.Join(on, ",")
}

func reload(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `!!window.Crumb`)
}

// settle waits for the widget's start-up requests to have been sent: a POST it makes at
// start leaves before Crumb exists, so one round trip to the harness is enough.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	evalJS[chromedp.Void](t, ctx, `fetch('/settle').then(() => 1)`)
	time.Sleep(150 * time.Millisecond)
}

// ---- tests -----------------------------------------------------------------------------

func TestBrowserOptInAccept(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	url := h.page("/", htmlPage(`<script>window.dataLayer=[];</script>`, blocked))
	navigate(t, ctx, url+"#fragment")
	waitJS(t, ctx, bannerVisible)

	// Nothing blocked ran or loaded before a choice.
	if got := ranScripts(t, ctx); got != "" {
		t.Fatalf("scripts ran before consent: %s", got)
	}
	if n := h.hitCount("/s/a.js") + h.hitCount("/frame"); n != 0 {
		t.Fatalf("blocked resources requested before consent: %d", n)
	}
	if evalJS[bool](t, ctx, `document.querySelector('iframe').hasAttribute('src')`) {
		t.Fatal("blocked iframe has a src")
	}
	if got := evalJS[string](t, ctx, `document.querySelector('crumb-placeholder').shadowRoot.textContent`); !strings.Contains(got, "This content needs Marketing cookies.") {
		t.Errorf("placeholder text = %q", got)
	}
	if c := evalJS[*map[string]bool](t, ctx, `Crumb.consent()`); c != nil {
		t.Errorf("Crumb.consent() before a choice = %v, want null", *c)
	}
	// Contract: one element, open shadow root, the four actions.
	if n := evalJS[int](t, ctx, `document.querySelectorAll('crumb-consent').length`); n != 1 {
		t.Fatalf("%d <crumb-consent> elements", n)
	}
	for _, a := range []string{"accept_all", "reject_all", "customize", "save"} {
		if n := evalJS[int](t, ctx, sr+`.querySelectorAll('[data-action=`+a+`]').length`); n != 1 {
			t.Errorf("data-action=%s: %d elements", a, n)
		}
	}
	// Accept and reject look the same.
	same := evalJS[bool](t, ctx, `(() => { const s = (a) => { const e = `+sr+`.querySelector('[data-action='+a+']'), c = getComputedStyle(e), r = e.getBoundingClientRect();
		return [c.backgroundColor, c.color, c.fontSize, c.fontWeight, c.borderStyle, Math.round(r.width), Math.round(r.height)].join() };
		return s('accept_all') === s('reject_all') })()`)
	if !same {
		t.Error("accept_all and reject_all are styled differently")
	}

	click(t, ctx, `[data-action=accept_all]`)
	p := h.waitPosts(1)[0]
	waitJS(t, ctx, `window.ran.length === 5`)
	if got := ranScripts(t, ctx); got != "stat1,a,stat2,mkt,both" {
		t.Errorf("run order = %s, want stat1,a,stat2,mkt,both", got)
	}
	waitJS(t, ctx, `document.querySelector('iframe').getAttribute('src') === '/frame' && !document.querySelector('crumb-placeholder')`)
	if p.Status != 201 || p.Body["site"] != "site1" || p.Body["method"] != "accept_all" || p.Body["version"] != VersionOf(testConfig().Canonical()) {
		t.Errorf("POST: status %d body %v", p.Status, p.Body)
	}
	if p.Body["url"] != url {
		t.Errorf("url = %v, want %s (no fragment)", p.Body["url"], url)
	}
	if got := state(p); got != "necessary,preferences,statistics,marketing" {
		t.Errorf("state = %s", got)
	}
	nonce, _ := p.Body["nonce"].(string)
	if len(nonce) < 22 || strings.Trim(nonce, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		t.Errorf("nonce %q: want 22+ URL-safe characters", nonce)
	}
	if _, ok := p.Body["replaces"]; ok {
		t.Errorf("first consent has replaces: %v", p.Body["replaces"])
	}
	if ct := p.Header.Get("Content-Type"); ct != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if p.Header.Get("Cookie") != "" {
		t.Error("the POST carried cookies (credentials must be omitted)")
	}
	h.mu.Lock()
	for _, q := range h.posts {
		if q.Preflit {
			t.Error("the POST was preflighted: it must be a CORS-simple request")
		}
	}
	h.mu.Unlock()
	// The receipt replaces the pending choice in the cookie.
	waitJS(t, ctx, `/(^|; )crumb_consent=eyJ/.test(document.cookie)`)
	if got := evalJS[string](t, ctx, `JSON.stringify(Crumb.consent())`); got != `{"necessary":true,"preferences":true,"statistics":true,"marketing":true}` {
		t.Errorf("Crumb.consent() = %s", got)
	}
	if n := evalJS[int](t, ctx, `events.length`); n != 1 {
		t.Errorf("%d crumb:consent events, want 1", n)
	}
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Error("banner still open after the choice")
	}
	// The settings entry reopens the second layer.
	click(t, ctx, `[data-action=settings]`)
	waitJS(t, ctx, bannerVisible)
	if !evalJS[bool](t, ctx, sr+`.querySelector('input[data-category=statistics]').checked`) {
		t.Error("settings do not show the current choice")
	}
}

func TestBrowserRejectAndPurge(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	// Cookies of denied categories that the config lists go; others stay.
	url := h.page("/", htmlPage(`<script>document.cookie='_ga=1;path=/';document.cookie='_ga_X1=2;path=/';document.cookie='mk=3;path=/';document.cookie='keep=4;path=/';</script>`, blocked))
	navigate(t, ctx, url)
	click(t, ctx, `[data-action=reject_all]`)
	p := h.waitPosts(1)[0]
	if p.Body["method"] != "reject_all" || state(p) != "necessary" {
		t.Errorf("POST method %v state %s", p.Body["method"], state(p))
	}
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	cookies := evalJS[string](t, ctx, `document.cookie`)
	for _, gone := range []string{"_ga=", "_ga_X1=", "mk="} {
		if strings.Contains(cookies, gone) {
			t.Errorf("cookie %s survived the rejection: %s", gone, cookies)
		}
	}
	if !strings.Contains(cookies, "keep=4") {
		t.Errorf("unlisted cookie deleted: %s", cookies)
	}
	settle(t, ctx)
	if got := ranScripts(t, ctx); got != "" {
		t.Errorf("scripts ran after reject: %s", got)
	}
	if got := evalJS[bool](t, ctx, `Crumb.accepted('statistics') || !Crumb.accepted('necessary')`); got {
		t.Error("Crumb.accepted disagrees with the rejection")
	}
	// Reload keeps the choice: no banner, no second record, nothing runs.
	reload(t, ctx)
	settle(t, ctx)
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Error("banner shown again after reload")
	}
	if n := len(h.consentPosts()); n != 1 {
		t.Errorf("%d POSTs after reload, want 1", n)
	}
	if got := evalJS[string](t, ctx, `JSON.stringify(Crumb.consent())`); got != `{"necessary":true,"preferences":false,"statistics":false,"marketing":false}` {
		t.Errorf("after reload Crumb.consent() = %s", got)
	}
}

func TestBrowserCustomPlaceholderAndWithdraw(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	click(t, ctx, `[data-action=customize]`)
	waitJS(t, ctx, sr+`.querySelector('input[data-category=statistics]').checkVisibility()`)
	if !evalJS[bool](t, ctx, sr+`.querySelector('input[data-category=necessary]').disabled && `+sr+`.querySelector('input[data-category=necessary]').checked`) {
		t.Error("necessary is not locked on")
	}
	if got := evalJS[string](t, ctx, sr+`.querySelector('label[for=c-statistics]').textContent`); got != "Statistics" {
		t.Errorf("statistics label = %q", got)
	}
	if got := evalJS[string](t, ctx, sr+`.querySelector('.svc').textContent`); !strings.Contains(got, "Analytics Counts visits.") || !strings.Contains(got, "_ga_*") {
		t.Errorf("services under statistics: %q", got)
	}
	click(t, ctx, `input[data-category=statistics]`)
	click(t, ctx, `[data-action=save]`)
	p := h.waitPosts(1)[0]
	if p.Body["method"] != "custom" || state(p) != "necessary,statistics" {
		t.Errorf("POST method %v state %s", p.Body["method"], state(p))
	}
	waitJS(t, ctx, `window.ran.join() === 'stat1,a,stat2'`)
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	first := h.recordID(p)

	// The iframe placeholder grants just marketing; the new consent replaces the first.
	ph := `document.querySelector('crumb-placeholder').shadowRoot`
	pt := evalJS[[]float64](t, ctx, `(() => { const r = `+ph+`.querySelector('button').getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2] })()`)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		t.Fatal(err)
	}
	p2 := h.waitPosts(2)[1]
	if p2.Body["method"] != "custom" || state(p2) != "necessary,statistics,marketing" || p2.Body["replaces"] != first {
		t.Errorf("placeholder POST: method %v state %s replaces %v (want %s)", p2.Body["method"], state(p2), p2.Body["replaces"], first)
	}
	waitJS(t, ctx, `window.ran.join() === 'stat1,a,stat2,mkt,both' && document.querySelector('iframe').getAttribute('src') === '/frame'`)
	waitJS(t, ctx, `Crumb.consent().marketing === true && /crumb_consent=eyJ/.test(document.cookie)`)
	second := h.recordID(p2)

	// Withdrawing everything through Crumb.show() is recorded as a withdrawal.
	evalJS[chromedp.Void](t, ctx, `Crumb.show()`)
	waitJS(t, ctx, bannerVisible)
	click(t, ctx, `[data-action=reject_all]`)
	p3 := h.waitPosts(3)[2]
	if p3.Body["method"] != "withdraw" || state(p3) != "necessary" || p3.Body["replaces"] != second {
		t.Errorf("withdrawal POST: method %v state %s replaces %v", p3.Body["method"], state(p3), p3.Body["replaces"])
	}
}

// TestBrowserSettingsLink: an owner's element marked data-crumb-settings opens the settings,
// by mouse and by keyboard, without following its href, and focus returns to it on close.
func TestBrowserSettingsLink(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", `<p><a id="plain" href="#plain">plain</a> <a id="cs" href="#elsewhere" data-crumb-settings><b>Cookie settings</b></a></p>`+blocked)))
	click(t, ctx, `[data-action=accept_all]`)
	h.waitPosts(1)
	waitJS(t, ctx, `!(`+bannerVisible+`)`)

	statsShown := sr + `.querySelector('input[data-category=statistics]').checkVisibility()`
	clickLink(t, ctx, "#cs b") // the click lands on a child of the marked element
	waitJS(t, ctx, bannerVisible+` && `+statsShown)
	if !evalJS[bool](t, ctx, sr+`.querySelector('input[data-category=statistics]').checked`) {
		t.Error("the settings do not show the consent given (statistics granted)")
	}
	if hash := evalJS[string](t, ctx, `location.hash`); hash != "" {
		t.Errorf("the marked link was followed: location.hash %q", hash)
	}
	key(t, ctx, kb.Escape) // opened after a choice: Escape closes the settings
	waitJS(t, ctx, `!(`+bannerVisible+`)`)
	if id := evalJS[string](t, ctx, `document.activeElement.id`); id != "cs" {
		t.Errorf("focus after closing is on %q, want the link that opened the settings", id)
	}
	key(t, ctx, kb.Enter) // keyboard activation of the focused link
	waitJS(t, ctx, bannerVisible+` && `+statsShown)
	key(t, ctx, kb.Escape)
	waitJS(t, ctx, `!(`+bannerVisible+`)`)

	// An ordinary link is followed and opens nothing.
	clickLink(t, ctx, "#plain")
	waitJS(t, ctx, `location.hash === '#plain'`)
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Error("an unmarked link opened the settings")
	}
	if n := len(h.consentPosts()); n != 1 {
		t.Errorf("%d consent POSTs, want the one choice", n)
	}
}

// TestBrowserSetFromPage: Crumb.set records the page's own consent control
// (an "allow statistics" button) as a custom choice, but only while the
// visitor acts: a script that calls it unprompted records nothing.
func TestBrowserSetFromPage(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", `<p><button id="allow" onclick="window.got = Crumb.set({statistics: true, bogus: true})">Allow statistics</button></p>`+blocked)))
	waitJS(t, ctx, bannerVisible)
	// Right after a navigation the page counts as user-activated, so these also show that
	// activation alone is not enough: a script's own call, a synthetic click, and a call from
	// a trusted event that is not the visitor's (load) are all refused.
	evalJS[chromedp.Void](t, ctx, `window.viaEvent = 'pending'; const i = new Image();
		i.onload = i.onerror = () => { window.viaEvent = Crumb.set({marketing: true}) }; i.src = '/s/a.js?img'`)
	waitJS(t, ctx, `window.viaEvent !== 'pending'`)
	for _, js := range []string{
		`Crumb.set({marketing: true})`,
		`document.getElementById('allow').click(), window.got`,
		`window.viaEvent`,
	} {
		if got := evalJS[any](t, ctx, js); got != false {
			t.Errorf("%s: Crumb.set without the visitor's gesture gave %v, want false", js, got)
		}
	}
	settle(t, ctx)
	if n := len(h.consentPosts()); n != 0 || cookieValue(t, ctx) != "" || ranScripts(t, ctx) != "" {
		t.Fatalf("an unprompted Crumb.set recorded or ran something: %d POSTs, cookie %q, ran %q", n, cookieValue(t, ctx), ranScripts(t, ctx))
	}

	clickLink(t, ctx, "#allow") // a real click: the page has transient user activation
	p := h.waitPosts(1)[0]
	if p.Body["method"] != "custom" || state(p) != "necessary,statistics" {
		t.Errorf("recorded %v %s, want custom necessary,statistics", p.Body["method"], state(p))
	}
	waitJS(t, ctx, `window.got === true && !(`+bannerVisible+`)`)
	waitJS(t, ctx, `window.ran.length === 3`) // stat1, a.js, stat2: statistics only
	if got := ranScripts(t, ctx); got != "stat1,a,stat2" {
		t.Errorf("ran %q, want the statistics scripts in order", got)
	}
	if !evalJS[bool](t, ctx, `Crumb.accepted('statistics') && !Crumb.accepted('marketing')`) {
		t.Error("accepted() does not reflect the choice")
	}
}

func TestBrowserVersionChangeReprompts(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	click(t, ctx, `[data-action=accept_all]`)
	h.waitPosts(1)
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	reload(t, ctx)
	waitJS(t, ctx, `window.ran.length === 5`)
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Fatal("banner shown although the version did not change")
	}
	// The owner saves a new config version: the banner returns, nothing runs until asked.
	h.set(func(h *harness) { h.cfg.Theme = "dark" })
	reload(t, ctx)
	waitJS(t, ctx, bannerVisible)
	settle(t, ctx)
	if got := ranScripts(t, ctx); got != "" {
		t.Errorf("scripts ran under a new version before a new choice: %s", got)
	}
	if evalJS[bool](t, ctx, `Crumb.consent() !== null`) {
		t.Error("consent() is not null under a new version")
	}
	old := h.consentPosts()[0]
	click(t, ctx, `[data-action=reject_all]`)
	p := h.waitPosts(2)[1]
	if p.Body["version"] == old.Body["version"] || p.Body["replaces"] != h.recordID(old) {
		t.Errorf("new consent: version %v replaces %v", p.Body["version"], p.Body["replaces"])
	}
}

func TestBrowserRetryAfterFailedPost(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	h.set(func(h *harness) { h.statuses = []int{500, 503} })
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	click(t, ctx, `[data-action=accept_all]`)
	first := h.waitPosts(1)[0]
	if first.Status != 500 {
		t.Fatalf("first POST answered %d", first.Status)
	}
	// The choice applies at once and is kept, pending, in the cookie.
	waitJS(t, ctx, `window.ran.length === 5`)
	if v := cookieValue(t, ctx); !strings.HasPrefix(v, "P") {
		t.Fatalf("cookie after a failed POST = %q, want the pending choice", v)
	}
	// Coming back online retries (the server still fails).
	evalJS[chromedp.Void](t, ctx, `dispatchEvent(new Event('online'))`)
	second := h.waitPosts(2)[1]
	// The next page view retries again, and the server is back.
	reload(t, ctx)
	third := h.waitPosts(3)[2]
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Error("banner shown again although the choice is pending")
	}
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	if second.Status != 503 || third.Status != 201 {
		t.Errorf("statuses %d, %d; want 503, 201", second.Status, third.Status)
	}
	for i, p := range []post{second, third} {
		if p.Body["nonce"] != first.Body["nonce"] || state(p) != state(first) || p.Body["url"] != first.Body["url"] {
			t.Errorf("retry %d differs from the first attempt: %v vs %v", i+1, p.Body, first.Body)
		}
	}
	// Exactly one record, and no more sending once the receipt is in.
	reload(t, ctx)
	settle(t, ctx)
	if n := len(h.consentPosts()); n != 3 {
		t.Errorf("%d POSTs, want 3 (two failures, one success)", n)
	}
	h.mu.Lock()
	records := len(h.records)
	h.mu.Unlock()
	if n := records; n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestBrowserGPC(t *testing.T) {
	for _, rule := range []string{OptOut, OptIn} {
		t.Run(rule, func(t *testing.T) {
			ctx := newTab(t)
			h := newHarness(t, testConfig())
			h.set(func(h *harness) { h.rule = rule })
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get() { return true }, configurable: true})`,
			}); err != nil {
				t.Fatal(err)
			}
			navigate(t, ctx, h.page("/", htmlPage("", blocked)))
			p := h.waitPosts(1)[0]
			if p.Body["method"] != "gpc" || p.Body["gpc"] != true {
				t.Errorf("POST method %v gpc %v, want gpc, true", p.Body["method"], p.Body["gpc"])
			}
			settle(t, ctx)
			if rule == OptOut {
				if got := state(p); got != "necessary,preferences,statistics" {
					t.Errorf("state %s: marketing must be refused, the rest granted", got)
				}
				waitJS(t, ctx, `window.ran.join() === 'stat1,a,stat2'`)
				if evalJS[bool](t, ctx, bannerVisible) {
					t.Error("opt-out with GPC: the signal is the choice, no banner")
				}
			} else {
				if got := state(p); got != "necessary" {
					t.Errorf("state %s", got)
				}
				if got := ranScripts(t, ctx); got != "" {
					t.Errorf("scripts ran: %s", got)
				}
				if !evalJS[bool](t, ctx, bannerVisible) {
					t.Error("opt-in with GPC: the banner still offers the rest")
				}
				// Accepting explicitly replaces the signal's record and still says gpc.
				click(t, ctx, `[data-action=accept_all]`)
				p2 := h.waitPosts(2)[1]
				if p2.Body["method"] != "accept_all" || p2.Body["gpc"] != true || p2.Body["replaces"] != h.recordID(p) {
					t.Errorf("explicit choice after GPC: %v", p2.Body)
				}
			}
		})
	}
}

func TestBrowserOptOutAndNotice(t *testing.T) {
	t.Run("opt-out", func(t *testing.T) {
		ctx := newTab(t)
		h := newHarness(t, testConfig())
		h.set(func(h *harness) { h.rule = OptOut })
		navigate(t, ctx, h.page("/", htmlPage("", blocked)))
		waitJS(t, ctx, bannerVisible)
		waitJS(t, ctx, `window.ran.length === 5`) // granted by default
		if evalJS[bool](t, ctx, `Crumb.consent() !== null`) {
			t.Error("consent() before a choice")
		}
		click(t, ctx, `[data-action=reject_all]`)
		if p := h.waitPosts(1)[0]; p.Body["method"] != "reject_all" {
			t.Errorf("method %v", p.Body["method"])
		}
	})
	t.Run("notice", func(t *testing.T) {
		ctx := newTab(t)
		h := newHarness(t, testConfig())
		h.set(func(h *harness) { h.rule = Notice })
		navigate(t, ctx, h.page("/", htmlPage("", blocked)))
		waitJS(t, ctx, bannerVisible)
		waitJS(t, ctx, `window.ran.length === 5`)
		visible := evalJS[[]string](t, ctx, `[...`+sr+`.querySelectorAll('button')].filter(b => b.checkVisibility()).map(b => b.getAttribute('data-action') + ':' + b.textContent)`)
		if strings.Join(visible, "|") != "accept_all:OK" {
			t.Errorf("notice buttons = %v, want one OK (accept_all)", visible)
		}
		click(t, ctx, `[data-action=accept_all]`)
		if p := h.waitPosts(1)[0]; p.Body["method"] != "accept_all" {
			t.Errorf("method %v", p.Body["method"])
		}
		click(t, ctx, `[data-action=settings]`)
		waitJS(t, ctx, sr+`.querySelector('[data-action=reject_all]').checkVisibility()`)
	})
}

func TestBrowserConsentModeOrder(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage(`<script>window.dataLayer=[];</script>`, "")))
	calls := `JSON.stringify(dataLayer.map(a => a.event ? a : Array.from(a)))`
	want := `[["consent","default",{"ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied","analytics_storage":"denied",` +
		`"functionality_storage":"denied","personalization_storage":"denied","security_storage":"granted","wait_for_update":500}]]`
	if got := evalJS[string](t, ctx, calls); got != want {
		t.Fatalf("at load: %s\nwant %s", got, want)
	}
	if evalJS[bool](t, ctx, `typeof gtag !== 'function'`) {
		t.Error("no gtag shim over the data layer")
	}
	click(t, ctx, `[data-action=customize]`)
	click(t, ctx, `input[data-category=statistics]`)
	click(t, ctx, `[data-action=save]`)
	update := `["consent","update",{"ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied","analytics_storage":"granted",` +
		`"functionality_storage":"denied","personalization_storage":"denied"}],` +
		// then the event a Tag Manager trigger waits for
		`{"event":"crumb_consent","crumb":{"necessary":true,"preferences":false,"statistics":true,"marketing":false}}`
	waitJS(t, ctx, `dataLayer.length === 3`)
	if got := evalJS[string](t, ctx, calls); got != want[:len(want)-1]+","+update+"]" {
		t.Errorf("after the choice: %s", got)
	}
	// With a stored choice: default first, then the stored state at once.
	reload(t, ctx)
	if got := evalJS[string](t, ctx, calls); got != want[:len(want)-1]+","+update+"]" {
		t.Errorf("after reload: %s", got)
	}
}

// TestBrowserMicrosoftConsentMode: with consent_mode, Microsoft UET's queue gets ad_storage
// denied at load and the marketing choice on each update, before or after its tag loads.
func TestBrowserMicrosoftConsentMode(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", "")))
	if got := evalJS[string](t, ctx, `JSON.stringify(window.uetq)`); got != `["consent","default",{"ad_storage":"denied"}]` {
		t.Fatalf("uetq at load: %s", got)
	}
	click(t, ctx, `[data-action=accept_all]`)
	waitJS(t, ctx, `window.uetq.length === 6`)
	if got := evalJS[string](t, ctx, `JSON.stringify(window.uetq.slice(3))`); got != `["consent","update",{"ad_storage":"granted"}]` {
		t.Errorf("uetq after accept all: %s", got)
	}
	// A UET tag already loaded: its own push receives the update.
	evalJS[chromedp.Void](t, ctx, `window.got = []; window.uetq = {push: (...a) => window.got.push(a)}`)
	evalJS[chromedp.Void](t, ctx, `Crumb.show()`)
	click(t, ctx, `[data-action=reject_all]`)
	waitJS(t, ctx, `window.got.length === 1`)
	if got := evalJS[string](t, ctx, `JSON.stringify(window.got)`); got != `[["consent","update",{"ad_storage":"denied"}]]` {
		t.Errorf("UET tag after withdrawal: %s", got)
	}

	// Without consent_mode neither data layer is touched.
	c := testConfig()
	c.ConsentMode = false
	h2 := newHarness(t, c)
	navigate(t, ctx, h2.page("/", htmlPage("", "")))
	click(t, ctx, `[data-action=accept_all]`)
	h2.waitPosts(1)
	if got := evalJS[string](t, ctx, `typeof window.uetq + typeof window.dataLayer`); got != "undefinedundefined" {
		t.Errorf("consent_mode off, yet uetq, dataLayer: %s", got)
	}
}

func TestBrowserKeyboard(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	waitJS(t, ctx, bannerVisible)
	waitJS(t, ctx, focused+` === 'dialog'`) // focus moved into the banner
	a11y := evalJS[string](t, ctx, `(() => { const b = `+sr+`.querySelector('[role=dialog]');
		return [b.getAttribute('aria-labelledby'), `+sr+`.getElementById(b.getAttribute('aria-labelledby')).textContent, !!`+sr+`.getElementById(b.getAttribute('aria-describedby'))].join('|') })()`)
	if a11y != "crumb-t|We value your privacy|true" {
		t.Errorf("dialog labelling: %s", a11y)
	}
	// Tab through: privacy link, reject, accept, customise.
	var order []string
	for range 4 {
		key(t, ctx, kb.Tab)
		order = append(order, evalJS[string](t, ctx, focused))
	}
	if strings.Join(order, ",") != "A,reject_all,accept_all,customize" {
		t.Errorf("tab order = %v", order)
	}
	// The focus is visible.
	if ow := evalJS[string](t, ctx, `getComputedStyle(`+sr+`.activeElement).outlineStyle`); ow == "none" {
		t.Error("focused button has no outline")
	}
	key(t, ctx, kb.Enter) // customise
	waitJS(t, ctx, sr+`.querySelector('input[data-category=statistics]').checkVisibility()`)
	// Escape leaves the second layer and records nothing.
	key(t, ctx, kb.Escape)
	waitJS(t, ctx, `!`+sr+`.querySelector('input[data-category=statistics]').checkVisibility()`)
	if !evalJS[bool](t, ctx, bannerVisible) {
		t.Fatal("Escape closed the banner")
	}
	key(t, ctx, kb.Escape) // on the first layer: nothing happens
	if !evalJS[bool](t, ctx, bannerVisible) {
		t.Fatal("Escape dismissed the first layer")
	}
	click(t, ctx, `[data-action=customize]`)
	for i := 0; i < 12 && evalJS[string](t, ctx, focused) != "statistics"; i++ {
		key(t, ctx, kb.Tab)
	}
	key(t, ctx, " ")
	for i := 0; i < 12 && evalJS[string](t, ctx, focused) != "save"; i++ {
		key(t, ctx, kb.Tab)
	}
	key(t, ctx, kb.Enter)
	p := h.waitPosts(1)[0]
	if p.Body["method"] != "custom" || state(p) != "necessary,statistics" {
		t.Errorf("keyboard choice: method %v state %s", p.Body["method"], state(p))
	}
	if n := len(h.consentPosts()); n != 1 {
		t.Errorf("%d POSTs: Escape must not record anything", n)
	}
}

func TestBrowserModalFocusTrap(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.Layout, c.Position = "modal", "center"
	h := newHarness(t, c)
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	waitJS(t, ctx, bannerVisible)
	if evalJS[string](t, ctx, sr+`.querySelector('[role=dialog]').getAttribute('aria-modal')`) != "true" {
		t.Error("modal dialog without aria-modal")
	}
	for i := range 12 {
		key(t, ctx, kb.Tab)
		if f := evalJS[string](t, ctx, focused); strings.HasPrefix(f, "page:") || f == "" {
			t.Fatalf("Tab %d left the modal: focus on %s", i+1, f)
		}
	}
	for i := range 6 {
		key(t, ctx, kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
		if f := evalJS[string](t, ctx, focused); strings.HasPrefix(f, "page:") || f == "" {
			t.Fatalf("Shift+Tab %d left the modal: focus on %s", i+1, f)
		}
	}
	// The page behind cannot be clicked: the click lands on the backdrop.
	evalJS[chromedp.Void](t, ctx, `document.getElementById('search').addEventListener('click', () => window.clickedBehind = true)`)
	r := evalJS[[]float64](t, ctx, `(() => { const r = document.getElementById('search').getBoundingClientRect(); return [r.x + 5, r.y + 5] })()`)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(r[0], r[1])); err != nil {
		t.Fatal(err)
	}
	if evalJS[bool](t, ctx, `window.clickedBehind === true`) {
		t.Error("the page behind the modal took a click")
	}
}

func TestBrowserHostileCSS(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	hostile := `<style>
		* { display: none !important; font-size: 80px !important; color: red !important }
		html, body { font-size: 120px !important; line-height: 5 !important }
		crumb-consent { opacity: 0 !important; visibility: hidden !important; position: absolute !important; left: -9999px !important; transform: scale(0) !important }
		button { width: 1px !important; height: 1px !important }
		div { z-index: 2147483647 !important; position: fixed !important; inset: 0 !important }
	</style>`
	navigate(t, ctx, h.page("/", htmlPage(hostile, blocked+`<div>cover</div>`)))
	waitJS(t, ctx, bannerVisible)
	fs := evalJS[string](t, ctx, `getComputedStyle(`+sr+`.querySelector('[data-action=accept_all]')).fontSize`)
	if fs != "15px" {
		t.Errorf("button font-size = %s: the page's fonts leak in", fs)
	}
	click(t, ctx, `[data-action=accept_all]`)
	if p := h.waitPosts(1)[0]; p.Body["method"] != "accept_all" {
		t.Errorf("method %v", p.Body["method"])
	}
}

func TestBrowserStrictCSPNonceAndTwice(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	// No 'unsafe-inline' for styles, no eval; scripts only with the nonce (the widget's own
	// tag carries it and hands it on to the scripts it activates).
	h.set(func(h *harness) {
		h.header["Content-Security-Policy"] = "default-src 'self'; script-src 'nonce-n0nce' 'self'; style-src 'self'; frame-src 'self'; connect-src " + h.api.URL
	})
	pg := `<!doctype html><html><head><meta charset="utf-8">` + strings.Replace(recorder, "<script>", `<script nonce="n0nce">`, 1) +
		`<script nonce="n0nce" src="/widget.js"></script><script nonce="n0nce" src="/widget.js"></script></head><body>` + blocked + `</body></html>`
	navigate(t, ctx, h.page("/", pg))
	waitJS(t, ctx, bannerVisible)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('crumb-consent').length`); n != 1 {
		t.Errorf("loaded twice: %d banners", n)
	}
	// Styled although the CSP forbids inline styles.
	bg := evalJS[string](t, ctx, `getComputedStyle(`+sr+`.querySelector('[data-action=accept_all]')).backgroundColor`)
	if bg != "rgb(26, 86, 219)" {
		t.Errorf("accept button background %s: banner CSS not applied under CSP", bg)
	}
	click(t, ctx, `[data-action=accept_all]`)
	waitJS(t, ctx, `window.ran.join() === 'stat1,a,stat2,mkt,both'`)
	if n := len(h.waitPosts(1)); n != 1 {
		t.Errorf("%d POSTs for one click", n)
	}
	if n := evalJS[int](t, ctx, `events.length`); n != 1 {
		t.Errorf("%d events for one click", n)
	}
}

func TestBrowserAutoBlock(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.AutoBlock = true
	c.Services = append(c.Services, Service{Name: "Tracker", Category: Marketing, Hosts: []string{"localhost"}})
	h := newHarness(t, c)
	other := strings.Replace(h.site.URL, "127.0.0.1", "localhost", 1)
	// The widget loads first and synchronously; then a parser-inserted tracker, one that a
	// script inserts, and one inserted after a delay. Same-host scripts are left alone.
	pg := `<!doctype html><html><head><meta charset="utf-8">` + recorder + `<script src="/widget.js"></script>
		<script src="` + other + `/s/parsed.js"></script>
		<script src="/s/own.js"></script>
		<script>var s = document.createElement('script'); s.src = '` + other + `/s/inserted.js'; document.head.appendChild(s);
		setTimeout(function () { var f = document.createElement('iframe'); f.src = '` + other + `/frame'; document.body.append(f) }, 50);</script>
		</head><body><p>auto</p><iframe src="` + other + `/frame-parsed" title="parsed"></iframe></body></html>`
	navigate(t, ctx, h.page("/", pg))
	waitJS(t, ctx, bannerVisible)
	// (A parser-inserted iframe may have started its request before the observer held it;
	// it is stopped and shows a placeholder.)
	waitJS(t, ctx, `document.querySelectorAll('iframe[data-crumb-src]').length === 2 && document.querySelectorAll('crumb-placeholder').length === 2`)
	settle(t, ctx)
	if got := ranScripts(t, ctx); got != "own" {
		t.Errorf("before consent ran %q, want only own", got)
	}
	// (parsed.js may have been fetched by the preload scanner, which reads ahead of the
	// parser; it did not run.)
	if n := h.hitCount("/s/inserted.js") + h.hitCount("/frame"); n != 0 {
		t.Errorf("%d requests to the blocked host before consent", n)
	}
	click(t, ctx, `[data-action=accept_all]`)
	waitJS(t, ctx, `window.ran.join() === 'own,parsed,inserted'`)
	waitJS(t, ctx, `[...document.querySelectorAll('iframe')].map(f => f.src.replace(/.*\//, '')).join() === 'frame-parsed,frame'`)
}

func TestBrowserDeclarationAndLanguage(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.Texts = map[string]Texts{"he": {Title: "אנחנו משתמשים בעוגיות", Description: "<img src=x onerror=alert(1)>"}}
	h := newHarness(t, c)
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) CrumbTest", AcceptLanguage: "he,en;q=0.5",
	}); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, h.page("/privacy", htmlPage("", `<div data-crumb-declaration></div>`)))
	waitJS(t, ctx, bannerVisible)
	got := evalJS[string](t, ctx, `(() => { const w = `+sr+`.querySelector('.cc'); return [w.dir, w.lang, `+sr+`.getElementById('crumb-t').textContent, `+sr+`.getElementById('crumb-d').firstChild.textContent, `+sr+`.querySelectorAll('img').length].join('|') })()`)
	if got != "rtl|he|אנחנו משתמשים בעוגיות|<img src=x onerror=alert(1)>|0" {
		t.Errorf("Hebrew banner: %s", got)
	}
	table := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-crumb-declaration] tr')].map(r => r.textContent).join('|')`)
	if table != "CookieProviderPurposeExpiry|crumb_consentThis siteKeeps your choice.1 year|CookieProviderPurposeExpiry|_gaGoogle<b>Counts</b> visitors2 years" {
		t.Errorf("declaration rows: %s", table)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-crumb-declaration] b').length`); n != 0 {
		t.Error("owner text inserted as HTML in the declaration")
	}
}

func TestBrowserExpiredConsentAndOnchange(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.ConsentLifetimeDays = 30
	h := newHarness(t, c)
	url := h.page("/", htmlPage("", blocked))
	navigate(t, ctx, url)
	// A receipt for this version given 31 days ago: past the site's consent lifetime,
	// although the token itself would still be valid.
	now := time.Now().Unix()
	oldID := randomString()
	payload, _ := json.Marshal(map[string]any{"jti": oldID, "sub": "site1", "iat": now - 31*86400, "exp": now + 300*86400,
		"ver": VersionOf(c.Canonical()), "state": map[string]bool{"necessary": true, "preferences": true, "statistics": true, "marketing": true}})
	jwt := "eyJhbGciOiJFZERTQSJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	evalJS[chromedp.Void](t, ctx, `document.cookie = 'crumb_consent=`+jwt+`;path=/'`)
	reload(t, ctx)
	waitJS(t, ctx, bannerVisible)
	settle(t, ctx)
	if got := ranScripts(t, ctx); got != "" {
		t.Errorf("an expired consent still activates scripts: %s", got)
	}
	evalJS[chromedp.Void](t, ctx, `Crumb.onchange = (s) => { window.changed = s }`)
	click(t, ctx, `[data-action=accept_all]`)
	p := h.waitPosts(1)[0]
	if p.Body["replaces"] != oldID {
		t.Errorf("replaces = %v, want the expired consent's id", p.Body["replaces"])
	}
	if got := evalJS[string](t, ctx, `JSON.stringify(window.changed)`); got != `{"necessary":true,"preferences":true,"statistics":true,"marketing":true}` {
		t.Errorf("onchange got %s", got)
	}
}

func TestBrowserSharedCookieDomain(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.CookieDomain = "crumb.test"
	h := newHarness(t, c)
	h.page("/", htmlPage(`<script>document.cookie='_ga=1;path=/;domain=crumb.test';document.cookie='_ga_Y=2;path=/'</script>`, blocked))
	port := h.site.URL[strings.LastIndex(h.site.URL, ":"):]
	navigate(t, ctx, "http://www.crumb.test"+port+"/")
	waitJS(t, ctx, bannerVisible)
	click(t, ctx, `[data-action=reject_all]`)
	h.waitPosts(1)
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	// The listed cookies are gone from this host and from the parent domain.
	if got := evalJS[string](t, ctx, `document.cookie`); strings.Contains(got, "_ga") {
		t.Errorf("cookies left after reject: %s", got)
	}
	// Another host under the shared domain sees the choice: no banner, no new record.
	navigate(t, ctx, "http://shop.crumb.test"+port+"/")
	settle(t, ctx)
	if evalJS[bool](t, ctx, bannerVisible) {
		t.Error("banner shown on a sibling host of the shared cookie domain")
	}
	if got := evalJS[string](t, ctx, `JSON.stringify(Crumb.consent())`); got != `{"necessary":true,"preferences":false,"statistics":false,"marketing":false}` {
		t.Errorf("consent on the sibling host = %s", got)
	}
	if n := len(h.consentPosts()); n != 1 {
		t.Errorf("%d POSTs", n)
	}
}

// BenchmarkBannerTime measures, in headless Chromium on loopback, the time from navigation
// start to <crumb-consent> in the DOM (widget.js loaded async, rendered per request as the
// server would), next to the time to DOMContentLoaded of the same page without the widget.
//
//	go test ./widget -run '^$' -bench BannerTime -benchtime 20x
func BenchmarkBannerTime(b *testing.B) {
	ctx := newTab(b)
	h := newHarness(b, DefaultConfig())
	stamp := `<script>new MutationObserver(function (ms, o) { if (document.querySelector('crumb-consent')) { window.bannerAt = performance.now(); o.disconnect() } })
		.observe(document.documentElement, {childList: true, subtree: true});
		document.addEventListener('DOMContentLoaded', function () { window.readyAt = performance.now() });</script>`
	withWidget := h.page("/with", `<!doctype html><html><head><meta charset="utf-8">`+stamp+`<script src="/widget.js" async></script></head><body><p>shop</p></body></html>`)
	empty := h.page("/empty", `<!doctype html><html><head><meta charset="utf-8">`+stamp+`</head><body><p>shop</p></body></html>`)
	var banner, ready float64
	for b.Loop() {
		if err := chromedp.Do(ctx, chromedp.Navigate(empty)); err != nil {
			b.Fatal(err)
		}
		waitJS(b, ctx, `window.readyAt > 0`)
		ready += evalJS[float64](b, ctx, `window.readyAt`)
		if err := chromedp.Do(ctx, chromedp.Navigate(withWidget)); err != nil {
			b.Fatal(err)
		}
		waitJS(b, ctx, `window.bannerAt > 0`)
		banner += evalJS[float64](b, ctx, `window.bannerAt`)
	}
	n := float64(b.N)
	b.ReportMetric(banner/n, "ms-to-banner")
	b.ReportMetric(ready/n, "ms-empty-page")
	b.ReportMetric((banner-ready)/n, "ms-banner-minus-empty")
}

func TestBrowserHiddenCategory(t *testing.T) {
	ctx := newTab(t)
	c := testConfig()
	c.Categories[1].Enabled = false // no preferences on this site
	h := newHarness(t, c)
	navigate(t, ctx, h.page("/", htmlPage("", blocked)))
	click(t, ctx, `[data-action=customize]`)
	if n := evalJS[int](t, ctx, sr+`.querySelectorAll('input[data-category=preferences]').length`); n != 0 {
		t.Error("a hidden category has a switch")
	}
	click(t, ctx, `[data-action=accept_all]`)
	if p := h.waitPosts(1)[0]; p.Status != 201 || p.Body["method"] != "accept_all" {
		t.Errorf("accept_all with a hidden category: status %d, %v", p.Status, p.Body)
	}
}

func TestBrowserLayoutsThemesColours(t *testing.T) {
	ctx := newTab(t)
	h := newHarness(t, testConfig())
	url := h.page("/", htmlPage("", blocked))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 800)); err != nil {
		t.Fatal(err)
	}
	rect := `(() => { const r = ` + sr + `.querySelector('[role=dialog]').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round) })()`
	for _, tt := range []struct {
		layout, position string
		check            func(r []int) bool
	}{
		{"bar", "bottom", func(r []int) bool { return r[0] == 0 && r[2] == 1200 && r[3] == 800 }},
		{"bar", "top", func(r []int) bool { return r[0] == 0 && r[1] == 0 && r[2] == 1200 }},
		{"box", "bottom-left", func(r []int) bool { return r[0] == 16 && r[3] == 784 && r[2] < 600 }},
		{"box", "bottom-right", func(r []int) bool { return r[2] == 1184 && r[3] == 784 && r[0] > 600 }},
		{"box", "center", func(r []int) bool { return r[0] > 300 && r[2] < 900 && r[1] > 0 && r[3] < 800 }},
		{"modal", "center", func(r []int) bool { return r[0] > 250 && r[2] < 950 && r[1] > 0 && r[3] < 800 }},
	} {
		h.set(func(h *harness) { h.cfg.Layout, h.cfg.Position = tt.layout, tt.position })
		navigate(t, ctx, url)
		waitJS(t, ctx, bannerVisible)
		if r := evalJS[[]int](t, ctx, rect); !tt.check(r) {
			t.Errorf("%s/%s: dialog at %v", tt.layout, tt.position, r)
		}
	}
	colours := `(() => { const b = ` + sr + `.querySelector('[role=dialog]'), a = ` + sr + `.querySelector('[data-action=accept_all]');
		return [getComputedStyle(b).backgroundColor, getComputedStyle(b).color, getComputedStyle(a).backgroundColor, getComputedStyle(a).color].join('|') })()`
	h.set(func(h *harness) { h.cfg.Layout, h.cfg.Position, h.cfg.Theme = "box", "bottom-right", "dark" })
	navigate(t, ctx, url)
	waitJS(t, ctx, bannerVisible)
	if got := evalJS[string](t, ctx, colours); got != "rgb(31, 34, 39)|rgb(241, 243, 245)|rgb(156, 194, 255)|rgb(11, 29, 58)" {
		t.Errorf("dark theme colours: %s", got)
	}
	h.set(func(h *harness) { h.cfg.Colors = Colors{Primary: "#ffcc00", Background: "#102030"} })
	navigate(t, ctx, url)
	waitJS(t, ctx, bannerVisible)
	if got := evalJS[string](t, ctx, colours); got != "rgb(16, 32, 48)|rgb(255, 255, 255)|rgb(255, 204, 0)|rgb(0, 0, 0)" {
		t.Errorf("site colours: %s", got)
	}
}

// ---- consent shared between the sites of one account -----------------------------------

// shareHead counts in window.opened every dialog the page shows (as a popover or modal), so
// that a banner that comes and goes between two checks still counts.
const shareHead = `<script>window.opened = 0;
	[[HTMLElement.prototype, 'showPopover'], [HTMLDialogElement.prototype, 'showModal']].forEach(([P, m]) => {
		const o = P[m]; P[m] = function () { window.opened++; return o.apply(this, arguments) } })</script>`

// peek is a page script that keeps the next click on #peek from navigating and notes the
// link's href at that moment (after the widget's capture listener) in window.peeked.
const peek = `<script>document.addEventListener('click', (e) => { const a = e.target.closest('#peek, #ext');
	if (a) { e.preventDefault(); window.peeked = a.href } })</script>`

// clickLink clicks the middle of a link of the page, as a visitor would.
func clickLink(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	x, y := linkCenter(t, ctx, sel)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
}

func linkCenter(t *testing.T, ctx context.Context, sel string) (x, y float64) {
	t.Helper()
	pt := evalJS[[]float64](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2] })()`, sel))
	return pt[0], pt[1]
}

// waitPage waits until the tab shows a page of host whose widget has started.
func waitPage(t *testing.T, ctx context.Context, host string) {
	t.Helper()
	js := `location.host === ` + strconv.Quote(host) + ` && !!window.Crumb`
	for range 400 {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no page of %s with the widget started", host)
}

// sitePosts returns the consent POSTs of one site.
func (h *harness) sitePosts(site string) []post {
	var out []post
	for _, p := range h.consentPosts() {
		if p.Body["site"] == site {
			out = append(out, p)
		}
	}
	return out
}

func (h *harness) lookupList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lookups...)
}

// shareHarness is two sites of one account that share consent: site1 on 127.0.0.1 and
// site2 on localhost. Page "/" (site1) links to site2's page "/b" and back.
func shareHarness(t *testing.T, share bool) (h *harness, a, b string) {
	c := testConfig()
	c.ShareConsent = share
	h = newHarness(t, c)
	if share {
		h.set(func(h *harness) { h.share["site1"] = []string{"localhost"}; h.share["site2"] = []string{"127.0.0.1"} })
	}
	a = h.site.URL
	b = strings.Replace(a, "127.0.0.1", "localhost", 1)
	h.page("/", htmlPage(shareHead+peek, `<p><a id="toB" href="`+b+`/b?x=1&amp;y=a%20b#top">to B</a> <a id="peek" href="`+b+`/b">peek</a>
		<a id="ext" href="http://example.com/?q=1">elsewhere</a></p>`+blocked))
	h.page("/b", htmlPage(shareHead, `<p><a id="toA" href="`+a+`/?from=b">to A</a></p>`+blocked))
	return h, a, b
}

func TestBrowserShareConsent(t *testing.T) {
	ctx := newTab(t)
	h, siteA, siteB := shareHarness(t, true)
	hostA, hostB := strings.TrimPrefix(siteA, "http://"), strings.TrimPrefix(siteB, "http://")
	navigate(t, ctx, siteA+"/")
	waitJS(t, ctx, bannerVisible)
	// A pending choice or none is not handed on.
	clickLink(t, ctx, "#peek")
	waitJS(t, ctx, `!!window.peeked`)
	if got := evalJS[string](t, ctx, `window.peeked`); got != siteB+"/b" {
		t.Errorf("link decorated before any consent: %s", got)
	}
	click(t, ctx, `[data-action=accept_all]`)
	a1 := h.recordID(h.waitPosts(1)[0])
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)

	// With a receipt, links to the other site get its id at the click, and keep the rest.
	evalJS[chromedp.Void](t, ctx, `window.peeked = ''`)
	clickLink(t, ctx, "#peek")
	waitJS(t, ctx, `!!window.peeked`)
	if got := evalJS[string](t, ctx, `window.peeked`); got != siteB+"/b?crumb_share="+a1 {
		t.Errorf("shared link = %s, want ?crumb_share=%s", got, a1)
	}
	// Enter on a focused link is dispatched as a click: decorated the same way.
	evalJS[chromedp.Void](t, ctx, `window.peeked = ''; document.getElementById('peek').focus()`)
	key(t, ctx, kb.Enter)
	waitJS(t, ctx, `!!window.peeked`)
	if got := evalJS[string](t, ctx, `window.peeked`); got != siteB+"/b?crumb_share="+a1 {
		t.Errorf("link followed with Enter = %s, want ?crumb_share=%s", got, a1)
	}
	// The context menu's "open in new tab" takes the link as the menu opens it.
	evalJS[chromedp.Void](t, ctx, `document.getElementById('peek').href = `+strconv.Quote(siteB+"/b"))
	// Only the button press: with a real menu open, its release goes to the menu, and no
	// auxclick reaches the page.
	x, y := linkCenter(t, ctx, "#peek")
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonRight, chromedp.ClickCount(1))); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, ctx, `document.getElementById('peek').href`); got != siteB+"/b?crumb_share="+a1 {
		t.Errorf("link under the context menu = %s, want ?crumb_share=%s", got, a1)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseReleased, x, y, chromedp.ButtonRight, chromedp.ClickCount(1))); err != nil {
		t.Fatal(err)
	}
	evalJS[chromedp.Void](t, ctx, `window.peeked = ''`)
	clickLink(t, ctx, "#ext")
	waitJS(t, ctx, `!!window.peeked`)
	if got := evalJS[string](t, ctx, `window.peeked`); got != "http://example.com/?q=1" {
		t.Errorf("link to a host that does not share decorated: %s", got)
	}

	// Following the link: site2 takes the consent over, without a banner.
	clickLink(t, ctx, "#toB")
	waitPage(t, ctx, hostB)
	h.mu.Lock()
	q := h.queries["/b"]
	h.mu.Unlock()
	if q != "x=1&y=a%20b&crumb_share="+a1 {
		t.Errorf("site2 was asked for /b?%s", q)
	}
	if got := evalJS[string](t, ctx, `location.href`); got != siteB+"/b?x=1&y=a%20b#top" {
		t.Errorf("address after arrival = %s, want crumb_share gone and the rest kept", got)
	}
	p := h.waitPosts(2)[1]
	if p.Body["site"] != "site2" || p.Body["shared_from"] != a1 || p.Body["method"] != "accept_all" || state(p) != "necessary,preferences,statistics,marketing" {
		t.Errorf("site2's consent: %v", p.Body)
	}
	if _, ok := p.Body["replaces"]; ok {
		t.Errorf("site2's first consent replaces %v", p.Body["replaces"])
	}
	if u, _ := p.Body["url"].(string); strings.Contains(u, "crumb_share") {
		t.Errorf("recorded URL %s carries the shared id", u)
	}
	waitJS(t, ctx, `window.ran.length === 5`)
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
	settle(t, ctx)
	if n := evalJS[int](t, ctx, `window.opened`); n != 0 || evalJS[bool](t, ctx, bannerVisible) {
		t.Errorf("site2 showed its banner (%d times) although it took the shared consent", n)
	}
	if got := evalJS[string](t, ctx, `JSON.stringify(Crumb.consent())`); got != `{"necessary":true,"preferences":true,"statistics":true,"marketing":true}` {
		t.Errorf("site2's Crumb.consent() = %s", got)
	}
	if n := len(h.sitePosts("site2")); n != 1 {
		t.Errorf("site2 posted %d consents, want 1", n)
	}
	if got := h.lookupList(); len(got) != 1 || got[0] != "site2/"+a1 {
		t.Errorf("lookups %v", got)
	}
	b1 := h.recordID(p)

	// Back to site1 with site2's id: the same state, so nothing new is recorded (links
	// back and forth must not record a consent per visit).
	clickLink(t, ctx, "#toA")
	waitPage(t, ctx, hostA)
	waitJS(t, ctx, `window.ran.length === 5`)
	if got := evalJS[string](t, ctx, `location.search`); got != "?from=b" {
		t.Errorf("site1's address after arrival: search %q", got)
	}
	settle(t, ctx)
	if got := h.lookupList(); len(got) != 2 || got[1] != "site1/"+b1 {
		t.Errorf("lookups %v", got)
	}
	if n := len(h.consentPosts()); n != 2 {
		t.Errorf("%d consents after going back with the same state, want 2", n)
	}

	// A newer, different choice on site1 replaces site2's older one when the visitor goes
	// there again.
	evalJS[chromedp.Void](t, ctx, `Crumb.show()`)
	waitJS(t, ctx, bannerVisible)
	click(t, ctx, `[data-action=reject_all]`)
	a2 := h.recordID(h.waitPosts(3)[2])
	waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie) && Crumb.consent().marketing === false`)
	waitJS(t, ctx, `(() => { const c = document.cookie.match(/crumb_consent=([^;]*)/)[1]; return JSON.parse(atob(c.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).jti === `+strconv.Quote(a2)+` })()`)
	clickLink(t, ctx, "#toB")
	waitPage(t, ctx, hostB)
	p4 := h.waitPosts(4)[3]
	if p4.Body["site"] != "site2" || p4.Body["shared_from"] != a2 || p4.Body["replaces"] != b1 || p4.Body["method"] != "withdraw" || state(p4) != "necessary" {
		t.Errorf("site2's second consent: %v (want a withdrawal of %s shared from %s)", p4.Body, b1, a2)
	}
	settle(t, ctx)
	if n := evalJS[int](t, ctx, `window.opened`); n != 0 {
		t.Errorf("site2 showed its banner %d times", n)
	}
	if got := evalJS[string](t, ctx, `JSON.stringify(Crumb.consent())`); got != `{"necessary":true,"preferences":false,"statistics":false,"marketing":false}` {
		t.Errorf("site2's Crumb.consent() = %s", got)
	}
}

func TestBrowserShareConsentRefused(t *testing.T) {
	// arrive follows a link from site1 to site2 carrying id; site1's visitor has no consent,
	// so the link is the page's own, not the widget's decoration.
	arrive := func(t *testing.T, ctx context.Context, h *harness, siteA, siteB, id string) {
		t.Helper()
		h.page("/from", htmlPage("", `<p><a id="go" href="`+siteB+`/b?crumb_share=`+id+`">go</a></p>`))
		navigate(t, ctx, siteA+"/from")
		clickLink(t, ctx, "#go")
		waitPage(t, ctx, strings.TrimPrefix(siteB, "http://"))
	}
	// someConsent records an accept_all of site1 directly in the harness.
	someConsent := func(h *harness) string {
		h.mu.Lock()
		defer h.mu.Unlock()
		rec := h.issue(map[string]any{"site": "site1", "method": "accept_all", "version": "v1",
			"state": map[string]any{"necessary": true, "preferences": true, "statistics": true, "marketing": true}})
		h.records["harness-nonce-0000"] = rec
		return rec.id
	}
	bannerAndNothingRecorded := func(t *testing.T, ctx context.Context, h *harness) {
		t.Helper()
		waitJS(t, ctx, bannerVisible)
		if got := evalJS[string](t, ctx, `location.search`); got != "" {
			t.Errorf("crumb_share left in the address: %q", got)
		}
		settle(t, ctx)
		if n := len(h.consentPosts()); n != 0 {
			t.Errorf("%d consents recorded", n)
		}
		if got := ranScripts(t, ctx); got != "" || evalJS[bool](t, ctx, `Crumb.consent() !== null`) {
			t.Errorf("a refused shared consent applies: ran %q", got)
		}
	}

	t.Run("not found", func(t *testing.T) {
		ctx := newTab(t)
		h, siteA, siteB := shareHarness(t, true)
		arrive(t, ctx, h, siteA, siteB, "AAAAAAAAAAAAAAAAAAAAAA")
		bannerAndNothingRecorded(t, ctx, h)
		if got := h.lookupList(); len(got) != 1 {
			t.Errorf("lookups %v, want one", got)
		}
	})
	t.Run("no answer in time", func(t *testing.T) {
		ctx := newTab(t)
		h, siteA, siteB := shareHarness(t, true)
		id := someConsent(h)
		h.set(func(h *harness) { h.lookupIn = 2500 * time.Millisecond })
		arrive(t, ctx, h, siteA, siteB, id)
		waitJS(t, ctx, bannerVisible) // after ~1.5 s, before the answer
		if got := h.lookupList(); len(got) != 1 {
			t.Fatalf("lookups %v, want one", got)
		}
		time.Sleep(1500 * time.Millisecond) // the answer (200) has come by now: it is ignored
		bannerAndNothingRecorded(t, ctx, h)
	})
	t.Run("not sent by a sharing site", func(t *testing.T) {
		// Typed in, or a link in an e-mail: no referrer of a sharing site, no lookup.
		ctx := newTab(t)
		h, _, siteB := shareHarness(t, true)
		navigate(t, ctx, siteB+"/b?crumb_share="+someConsent(h))
		bannerAndNothingRecorded(t, ctx, h)
		if got := h.lookupList(); len(got) != 0 {
			t.Errorf("lookups %v, want none", got)
		}
	})
	t.Run("sharing off", func(t *testing.T) {
		ctx := newTab(t)
		h, siteA, siteB := shareHarness(t, false)
		navigate(t, ctx, siteA+"/")
		click(t, ctx, `[data-action=accept_all]`)
		h.waitPosts(1)
		waitJS(t, ctx, `/crumb_consent=eyJ/.test(document.cookie)`)
		clickLink(t, ctx, "#peek")
		waitJS(t, ctx, `!!window.peeked`)
		if got := evalJS[string](t, ctx, `window.peeked`); got != siteB+"/b" {
			t.Errorf("link decorated with sharing off: %s", got)
		}
		h.set(func(h *harness) { h.records = map[string]record{} })
		h.set(func(h *harness) { h.posts = nil })
		arrive(t, ctx, h, siteA, siteB, someConsent(h))
		bannerAndNothingRecorded(t, ctx, h)
		if got := h.lookupList(); len(got) != 0 {
			t.Errorf("lookups %v, want none", got)
		}
	})
}
