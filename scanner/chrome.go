package scanner

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

//go:embed hook.js
var hookJS string

// bindingName is the runtime binding hook.js reports through.
const bindingName = "__crumbScanReport"

// Settling: after the load event a page counts as done when no request has
// been in flight for settleQuiet, or after settleMax at most.
const (
	settleQuiet = 200 * time.Millisecond
	settleMax   = 3 * time.Second
	bannerWait  = 5 * time.Second // how long to look for the Crumb banner
	maxLinks    = 5000            // links read from one page

	maxObservations = 10 * maxCookies // cookie and storage writes kept per page run

	// tabOpenTimeout is added to Options.Timeout for opening a tab: a busy
	// browser can take seconds, and it is not the page's fault.
	tabOpenTimeout = 20 * time.Second
)

// chromeScan is one scan with the chrome engine.
type chromeScan struct {
	cr     *crawl
	o      Options
	b      *Browser
	px     *guardProxy
	robots *robotsCache

	userAgent string

	mu     sync.Mutex
	phases map[string]*Phase
}

// scanChrome loads each page in a real browser: it sees cookies set by
// headers and scripts (attributed to the script), Web Storage writes, and
// every request the page makes.
func scanChrome(ctx context.Context, o Options, start *url.URL) (*Report, error) {
	started := time.Now()
	cr := newCrawl(o, start)
	if err := cr.preflight(ctx); err != nil {
		return nil, err
	}
	b := o.Browser
	if b == nil {
		nb, err := NewBrowser(BrowserOptions{})
		if err != nil {
			return nil, err
		}
		defer nb.Close()
		b = nb
	}
	px, err := startProxy(ctx, cr.g, o.Timeout, o.MaxBodyBytes)
	if err != nil {
		return nil, fmt.Errorf("scanner: start proxy: %w", err)
	}
	defer px.Close()

	client := &http.Client{Transport: cr.transport(), Timeout: o.Timeout, CheckRedirect: cr.checkRedirect}
	defer client.CloseIdleConnections()
	// The browser shows as the desktop Chrome it is, naming the scanner at
	// the end; a UserAgent set in the options replaces it.
	ua := b.userAgent + " CrumbScanner/1"
	if o.UserAgent != DefaultUserAgent {
		ua = o.UserAgent
	}
	s := &chromeScan{cr: cr, o: o, b: b, px: px, userAgent: ua,
		robots: newRobotsCache(client, o.UserAgent, o.MaxBodyBytes), phases: map[string]*Phase{}}

	queue := make(chan string, o.Pages) // never blocks: at most Pages are planned
	var pending sync.WaitGroup
	// enqueue plans a batch of pages at once (breadth first, as the colly
	// engine does) and queues those robots.txt allows.
	enqueue := func(us []*url.URL) {
		if ctx.Err() != nil {
			return
		}
		for _, u := range cr.planAll(us) {
			if !s.robots.allowed(ctx, u) {
				cr.unplan(u.String())
				continue
			}
			pending.Add(1)
			queue <- u.String()
		}
	}
	seeds := []*url.URL{start}
	for _, p := range discoverPages(ctx, client, start, cr.site, o.UserAgent, o.MaxBodyBytes, o.Pages) {
		if u, err := url.Parse(p); err == nil {
			seeds = append(seeds, u)
		}
	}
	enqueue(seeds)
	go func() {
		pending.Wait()
		close(queue)
	}()
	var workers sync.WaitGroup
	for range o.Parallelism {
		workers.Go(func() {
			for p := range queue {
				if ctx.Err() == nil {
					var links []*url.URL
					for _, l := range s.page(ctx, p) {
						if u, ok := normalizePage(nil, l); ok {
							links = append(links, u)
						}
					}
					enqueue(links)
					if o.Delay > 0 {
						sleepCtx(ctx, o.Delay)
					}
				}
				pending.Done()
			}
		})
	}
	workers.Wait()

	rep := cr.report(started, ctx.Err())
	if o.Consent == "all" {
		for _, name := range []string{PhaseBeforeConsent, PhaseAfterAccept, PhaseAfterReject} {
			if ph := s.phases[name]; ph != nil {
				rep.Phases = append(rep.Phases, *ph)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("scanner: scan of %s stopped: %w", start.Host, err)
	}
	return rep, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// page runs one page in each phase and returns the links of its first run.
func (s *chromeScan) page(ctx context.Context, pageURL string) []string {
	phases := []string{PhaseBeforeConsent}
	if s.o.Consent == "all" {
		phases = append(phases, PhaseAfterAccept, PhaseAfterReject)
	}
	var links []string
	for _, ph := range phases {
		r := s.run(ctx, pageURL, ph)
		s.mu.Lock()
		st := s.phases[ph]
		if st == nil {
			st = &Phase{Name: ph}
			s.phases[ph] = st
		}
		if r.err == nil {
			st.Pages++
			if ph != PhaseBeforeConsent && !r.bannerFound {
				st.BannerMissing++
			}
		}
		s.mu.Unlock()
		if ph == PhaseBeforeConsent {
			p := Page{URL: pageURL, Status: r.status}
			if r.finalURL != "" && r.finalURL != pageURL {
				p.FinalURL = r.finalURL
			}
			if r.err != nil {
				p.Error = errorText(r.err)
			}
			s.cr.finish(p)
			links = r.links
			if r.err != nil {
				break // the page does not load; consent runs would not either
			}
		}
	}
	return links
}

type pageRun struct {
	status      int
	finalURL    string
	err         error
	links       []string
	bannerFound bool
}

// run loads pageURL in a fresh browser context in one phase and records
// what it sets.
func (s *chromeScan) run(ctx context.Context, pageURL, phase string) (r pageRun) {
	ev := &pageEvents{scan: s, page: pageURL, phase: phase,
		hops: map[network.RequestID][]string{}, extra: map[network.RequestID]int{},
		inflight: map[network.RequestID]bool{}, lastActivity: time.Now()}
	tabCtx, cancel, bcID, err := s.openTab(ctx, ev.handle)
	if err != nil {
		return pageRun{err: err}
	}
	defer cancel()
	ev.setTab(tabCtx)

	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(tabCtx, s.o.Timeout) }
	sctx, scancel := step()
	err = chromedp.Do(sctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: bindingName}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: s.userAgent}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hookJS})
		return err
	}))
	scancel()
	if err != nil {
		return pageRun{err: fmt.Errorf("prepare tab: %w", err)}
	}

	nctx, ncancel := step()
	resp, err := chromedp.Run(nctx, chromedp.NavigateResponse(pageURL))
	ncancel()
	if err != nil {
		r.err = err
		// Keep what the page set before it failed (a slow page's cookies).
	} else if resp != nil {
		r.status = int(resp.Status)
		r.finalURL = resp.URL
	}
	ev.settle(tabCtx, s.o.Timeout)

	if r.err == nil && phase != PhaseBeforeConsent {
		action := "accept_all"
		if phase == PhaseAfterReject {
			action = "reject_all"
		}
		r.bannerFound = clickBanner(tabCtx, action, min(bannerWait, s.o.Timeout))
		ev.settle(tabCtx, s.o.Timeout)
		if r.bannerFound {
			// Reload: what the site sets on a page view once the choice is made.
			rctx, rcancel := step()
			chromedp.Do(rctx, chromedp.Reload())
			rcancel()
			ev.settle(tabCtx, s.o.Timeout)
		}
	}
	// One evaluation reads the links (first run only) and the keys in the
	// main frame's storage: keys written without setItem (localStorage.x =
	// …) are not seen by the hook.
	kctx, kcancel := step()
	keys, _ := chromedp.Run(kctx, chromedp.Evaluate[pageState](`(() => {
		const k = s => { try { return Object.keys(s).slice(0, 500) } catch (e) { return [] } };
		const links = `+strconv.FormatBool(r.err == nil && phase == PhaseBeforeConsent)+`
			? Array.from(document.querySelectorAll('a[href],area[href]'), a => String(a.href)).slice(0, `+strconv.Itoa(maxLinks)+`)
			: [];
		return { links, l: k(localStorage), s: k(sessionStorage), o: location.origin } })()`))
	kcancel()
	r.links = keys.Links

	cctx, ccancel := step()
	jar, err := chromedp.CallBrowser(cctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: bcID})
	ccancel()
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("read cookies: %w", err)
	}
	ev.commit(jar.Cookies, keys)
	return r
}

// openTab creates a fresh browser context — its own cookies, storage, cache
// and the scan's guard proxy — with one hidden tab in it, and attaches to the
// tab. A hidden tab needs no browser window, which saves a window's worth of
// work per page. cancel closes the tab and disposes of the context.
func (s *chromeScan) openTab(ctx context.Context, listen func(any)) (tabCtx context.Context, cancel func(), bcID cdp.BrowserContextID, err error) {
	// Browser commands need a context of the browser; this one also ends
	// with the scan.
	octx, ocancel := context.WithTimeout(s.b.ctx, s.o.Timeout+tabOpenTimeout)
	defer ocancel()
	defer context.AfterFunc(ctx, ocancel)()
	bc, err := chromedp.CallBrowser(octx, target.CreateBrowserContext, target.CreateBrowserContextParams{
		ProxyServer:     s.px.URL(),
		ProxyBypassList: "<-loopback>", // loopback too goes through the guard
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("open tab: %w", err)
	}
	dispose := func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(s.b.ctx), 5*time.Second)
		defer dcancel()
		chromedp.CallBrowser(dctx, target.DisposeBrowserContext,
			target.DisposeBrowserContextParams{BrowserContextID: bc.BrowserContextID})
	}
	// No page of the scan may write files.
	if _, err := chromedp.CallBrowser(octx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: bc.BrowserContextID,
	}); err != nil {
		dispose()
		return nil, nil, "", fmt.Errorf("open tab: %w", err)
	}
	yes := true
	tg, err := chromedp.CallBrowser(octx, target.CreateTarget, target.CreateTargetParams{
		URL: "about:blank", BrowserContextID: bc.BrowserContextID, Background: &yes, Hidden: &yes,
	})
	if err != nil {
		dispose()
		return nil, nil, "", fmt.Errorf("open tab: %w", err)
	}
	tctx, tcancel := chromedp.NewContext(s.b.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithListener(listen))
	stop := context.AfterFunc(ctx, tcancel) // the scan's end closes the tab
	cancel = func() {
		stop()
		tcancel()
		dispose()
	}
	// The first Do attaches; it must get the tab's own context (a timeout
	// here would bound the tab's life), so it is bounded from outside.
	attached := make(chan error, 1)
	go func() { attached <- chromedp.Do(tctx) }()
	select {
	case err = <-attached:
	case <-octx.Done():
		tcancel()
		<-attached
		err = octx.Err()
	}
	if err != nil {
		cancel()
		return nil, nil, "", fmt.Errorf("open tab: %w", err)
	}
	return tctx, cancel, bc.BrowserContextID, nil
}

type pageState struct {
	Links   []string `json:"links"`
	Local   []string `json:"l"`
	Session []string `json:"s"`
	Origin  string   `json:"o"`
}

// clickBanner clicks the Crumb banner's button for action (DESIGN §6: a
// <crumb-consent> element with an open shadow root, buttons with
// data-action), waiting up to wait for the banner to mount.
func clickBanner(ctx context.Context, action string, wait time.Duration) bool {
	js := `(() => { const el = document.querySelector('crumb-consent');
	  const b = el && el.shadowRoot && el.shadowRoot.querySelector('[data-action=` + strconv.Quote(action) + `]');
	  if (!b) return false; b.click(); return true })()`
	deadline := time.Now().Add(wait)
	for {
		cctx, cancel := context.WithTimeout(ctx, wait)
		ok, err := chromedp.Run(cctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// pageEvents collects the events of one tab. handle runs on the tab's event
// loop (fast, no commands); commit runs after the page is done.
type pageEvents struct {
	scan  *chromeScan
	page  string
	phase string

	mu           sync.Mutex
	tab          context.Context                // the tab, once open
	hops         map[network.RequestID][]string // URLs of a request, redirects included
	extra        map[network.RequestID]int      // responseReceivedExtraInfo events seen
	inflight     map[network.RequestID]bool
	lastActivity time.Time
	headerObs    []cookieObs
	scriptObs    []cookieObs
	storageObs   []storageObs
}

type storageObs struct{ kind, key, origin, initiator string }

// setTab gives the events the tab's context, to answer dialogs with.
func (e *pageEvents) setTab(ctx context.Context) {
	e.mu.Lock()
	e.tab = ctx
	e.mu.Unlock()
}

type hookReport struct {
	Kind      string `json:"k"`
	Value     string `json:"v"`
	Key       string `json:"key"`
	Frame     string `json:"f"`
	Initiator string `json:"s"`
}

func (e *pageEvents) handle(ev any) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		e.hops[ev.RequestID] = append(e.hops[ev.RequestID], ev.Request.URL)
		e.inflight[ev.RequestID] = true
		e.lastActivity = now
		e.scan.cr.f.addRequest(ev.Request.URL, strings.ToLower(string(ev.Type)), e.page)
	case *network.EventLoadingFinished:
		delete(e.inflight, ev.RequestID)
		e.lastActivity = now
	case *network.EventLoadingFailed:
		delete(e.inflight, ev.RequestID)
		e.lastActivity = now
	case *network.EventResponseReceivedExtraInfo:
		if len(e.headerObs) > maxObservations {
			return
		}
		hops := e.hops[ev.RequestID]
		i := e.extra[ev.RequestID]
		e.extra[ev.RequestID] = i + 1
		if len(hops) == 0 {
			return
		}
		raw := hops[min(i, len(hops)-1)]
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		blocked := map[string]bool{}
		for _, b := range ev.BlockedCookies {
			blocked[b.CookieLine] = true
		}
		for k, v := range ev.Headers {
			s, ok := v.(string)
			if !ok || !strings.EqualFold(k, "set-cookie") {
				continue
			}
			for line := range strings.SplitSeq(s, "\n") {
				if blocked[line] {
					continue
				}
				if o, ok := parseSetCookie(line, u, now); ok {
					o.setBy, o.initiator = SetByHeader, clip(raw, 2048)
					e.headerObs = append(e.headerObs, o)
				}
			}
		}
	case *page.EventJavascriptDialogOpening:
		// An alert would stop the page's scripts (and the scan's own
		// evaluations) until answered: dismiss it, off the event loop.
		if tab := e.tab; tab != nil {
			go chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	case *runtime.EventBindingCalled:
		if ev.Name != bindingName || len(e.scriptObs)+len(e.storageObs) > maxObservations {
			return
		}
		var h hookReport
		if json.Unmarshal([]byte(ev.Payload), &h) != nil {
			return
		}
		fu, err := url.Parse(h.Frame)
		if err != nil || fu.Host == "" {
			return
		}
		initiator := h.Initiator
		if initiator == "" {
			initiator = h.Frame
		}
		initiator = clip(initiator, 2048)
		switch h.Kind {
		case "cookie":
			if o, ok := parseSetCookie(h.Value, fu, now); ok {
				o.setBy, o.initiator = SetByScript, initiator
				e.scriptObs = append(e.scriptObs, o)
			}
		case "local", "session":
			origin := (&url.URL{Scheme: fu.Scheme, Host: fu.Host}).String()
			e.storageObs = append(e.storageObs, storageObs{kind: h.Kind, key: h.Key, origin: origin, initiator: initiator})
		}
	}
}

// settle waits until the page has had no request in flight for settleQuiet,
// at most settleMax (and at most timeout).
func (e *pageEvents) settle(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(min(settleMax, timeout))
	for time.Now().Before(deadline) && ctx.Err() == nil {
		e.mu.Lock()
		quiet := len(e.inflight) == 0 && time.Since(e.lastActivity) >= settleQuiet
		e.mu.Unlock()
		if quiet {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// commit reconciles what the tab reported with the browser context's final
// cookie jar and records it. The jar is the truth about attributes; the
// header and hook observations say who set each cookie, and add the cookies
// that were set and removed again before the end.
func (e *pageEvents) commit(jar []*network.Cookie, keys pageState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.scan.cr.f
	used := map[*cookieObs]bool{}
	find := func(obs []cookieObs, name, domain, path string, exact bool) *cookieObs {
		for i := range obs {
			o := &obs[i]
			if o.name != name || used[o] {
				continue
			}
			if !exact || (o.domain == domain && o.path == path) {
				return o
			}
		}
		return nil
	}
	now := time.Now()
	for _, j := range jar {
		if j == nil || j.Name == "" {
			continue
		}
		o := cookieObs{name: j.Name, domain: strings.ToLower(j.Domain), path: j.Path, secure: j.Secure,
			httpOnly: j.HTTPOnly, sameSite: string(j.SameSite), partitioned: j.PartitionKey != nil || j.PartitionKeyOpaque,
			page: e.page, phase: e.phase, at: now}
		if !j.Session && j.Expires > 0 && !math.IsInf(j.Expires, 0) {
			sec, frac := math.Modf(j.Expires)
			o.expires = time.Unix(int64(sec), int64(frac*1e9))
		}
		m := find(e.headerObs, o.name, o.domain, o.path, true)
		if m == nil {
			m = find(e.scriptObs, o.name, o.domain, o.path, true)
		}
		if m == nil {
			m = find(e.headerObs, o.name, "", "", false)
		}
		if m == nil {
			m = find(e.scriptObs, o.name, "", "", false)
		}
		if m != nil {
			used[m] = true
			o.setBy, o.initiator = m.setBy, m.initiator
		} else {
			// In the jar with no header or hook report: set by a script
			// the hook could not see (a worker, for example).
			o.setBy, o.initiator = SetByScript, e.page
		}
		f.addCookie(o)
	}
	for _, list := range [][]cookieObs{e.headerObs, e.scriptObs} {
		for i := range list {
			if o := &list[i]; !used[o] {
				o.page, o.phase = e.page, e.phase
				f.addCookie(*o)
			}
		}
	}
	seen := map[storageObs]bool{}
	for _, s := range e.storageObs {
		f.addStorage(s.kind, s.key, s.origin, s.initiator, e.page, e.phase)
		seen[storageObs{kind: s.kind, key: s.key, origin: s.origin}] = true
	}
	for kind, list := range map[string][]string{"local": keys.Local, "session": keys.Session} {
		for _, k := range list {
			if keys.Origin != "" && !seen[storageObs{kind: kind, key: k, origin: keys.Origin}] {
				f.addStorage(kind, k, keys.Origin, e.page, e.page, e.phase)
			}
		}
	}
}
