package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/crumb-consent/crumb/bench/internal/loadstat"
	"github.com/crumb-consent/crumb/internal/browsertest"
)

// ErrNoChromium means no Chromium binary was found.
var ErrNoChromium = errors.New("Chromium not found (install chromium or set CRUMB_CHROMIUM)")

// chromiumPath returns the browser binary: explicit when given, else
// $CRUMB_CHROMIUM when set (and nothing else), else the usual names, as
// internal/browsertest looks for it; "" when there is none.
func chromiumPath(explicit string) string {
	candidates := []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}
	if env := os.Getenv("CRUMB_CHROMIUM"); env != "" {
		candidates = []string{env}
	}
	if explicit != "" {
		candidates = []string{explicit}
	}
	for _, p := range candidates {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// browser is one headless Chromium; every visit gets a fresh browser
// context (no cookies, storage or HTTP cache) in a new tab.
type browser struct {
	ctx       context.Context
	cancel    []context.CancelFunc
	dir       string
	UserAgent string
	// throttle, when set, slows every request of a timed visit.
	throttle *network.Conditions
}

// startBrowser starts Chromium with the launch options of
// internal/browsertest: no sandbox (root), no GPU, and nothing that would
// reach the outside network.
func startBrowser(path string) (*browser, error) {
	dir, err := os.MkdirTemp("", "widgetcompare-chromium-")
	if err != nil {
		return nil, fmt.Errorf("chromium: profile directory: %w", err)
	}
	b := &browser{dir: dir}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), browsertest.AllocatorOptions(path, dir)...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b.ctx, b.cancel = bctx, []context.CancelFunc{cancel, cancelBrowser}
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		b.Close()
		return nil, fmt.Errorf("chromium: start %s: %w", path, err)
	}
	ua, err := b.eval(context.Background(), "about:blank", `navigator.userAgent`, 30*time.Second)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("chromium: first tab: %w", err)
	}
	b.UserAgent, _ = ua.(string)
	return b, nil
}

// freshTab opens a tab in a fresh browser context (its own cookies, cache
// and connections) that ends after timeout, when ctx ends, or at done.
func (b *browser) freshTab(ctx context.Context, timeout time.Duration) (tab context.Context, done func()) {
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tctx, cancelT := context.WithTimeout(tctx, timeout)
	stop := context.AfterFunc(ctx, cancelT)
	return tctx, func() {
		stop()
		cancelT()
		chromedp.Cancel(tctx)
		cancel()
	}
}

// eval opens url in a fresh browser context and evaluates js there.
func (b *browser) eval(ctx context.Context, url, js string, timeout time.Duration) (any, error) {
	tctx, done := b.freshTab(ctx, timeout)
	defer done()
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return nil, err
	}
	return chromedp.Run(tctx, chromedp.Evaluate[any](js))
}

// Close stops Chromium and removes its profile directory.
func (b *browser) Close() {
	for i := len(b.cancel) - 1; i >= 0; i-- {
		b.cancel[i]()
	}
	for range 50 { // Chromium's helpers may write for a moment after it exits
		if os.RemoveAll(b.dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// marks are what a visit reads from a page's stamp script, in ms since
// navigation start.
type marks struct {
	Banner float64 // window.__bannerAt: the banner is in the DOM
	Ready  float64 // window.__readyAt: DOMContentLoaded
	// Painted is window.__paintedAt: the end of the first frame after the
	// banner (the empty page: after DOMContentLoaded).
	Painted float64
	// Fetched is when the last of the page's subresources (the library's
	// files) had arrived (resource timing responseEnd), 0 when it has none;
	// FetchStart is when the first was requested.
	Fetched, FetchStart float64
}

// visit opens the target's page in a fresh browser context and waits (up to
// timeout) for its mark: the banner, or for the empty page DOMContentLoaded.
func (b *browser) visit(ctx context.Context, t target, timeout time.Duration) (marks, error) {
	tctx, done := b.freshTab(ctx, timeout)
	defer done()
	m, err := b.visitIn(tctx, t, timeout)
	if err != nil && ctx.Err() != nil {
		return m, ctx.Err()
	}
	return m, err
}

// visitIn navigates the tab of tctx to the target's page and reads its marks.
func (b *browser) visitIn(tctx context.Context, t target, timeout time.Duration) (marks, error) {
	want := `window.__bannerAt > 0 && window.__paintedAt > 0`
	if t.empty {
		want = `window.__readyAt > 0 && window.__paintedAt > 0`
	}
	var m marks
	if b.throttle != nil {
		if err := chromedp.Do(tctx); err != nil { // opens the tab, to throttle it before it loads
			return m, err
		}
		if _, err := chromedp.Call(tctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{b.throttle},
		}); err != nil {
			return m, fmt.Errorf("throttle: %w", err)
		}
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(t.url),
		chromedp.Poll[chromedp.Void](want, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return m, fmt.Errorf("no banner (or no frame after it) within %s", timeout)
		}
		return m, err
	}
	v, err := chromedp.Run(tctx, chromedp.Evaluate[[]float64](`(function () {
  var rs = performance.getEntriesByType('resource'), end = 0, start = 0;
  for (var i = 0; i < rs.length; i++) {
    end = Math.max(end, rs[i].responseEnd);
    start = start ? Math.min(start, rs[i].fetchStart) : rs[i].fetchStart;
  }
  return [window.__bannerAt || 0, window.__readyAt || 0, window.__paintedAt || 0, end, start];
})()`))
	if err != nil || len(v) != 5 {
		return m, fmt.Errorf("reading the page's marks: %v", err)
	}
	m.Banner, m.Ready, m.Painted, m.Fetched, m.FetchStart = v[0], v[1], v[2], v[3], v[4]
	return m, nil
}

// target is one page whose time is measured.
type target struct {
	name, url string
	empty     bool
	script    string // the library's script file name, for traces
}

// Timing is one library's time to banner over the runs.
type Timing struct {
	Library string `json:"library"`
	Runs    int    `json:"runs"`   // visits measured
	Failed  int    `json:"failed"` // visits where the mark never came
	// Median and P90 are ms from navigation start to the banner in the DOM
	// (for the empty page: to DOMContentLoaded).
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	// NetMedian and NetP90 are of each run's time minus the empty page's
	// time in the same round: what the library adds.
	NetMedian float64 `json:"net_median_ms"`
	NetP90    float64 `json:"net_p90_ms"`
	// PaintedMedian is the end of the first frame after the banner was in
	// the DOM (empty page: after DOMContentLoaded), NetPaintedMedian the
	// same minus the round's empty page: the banner on screen, layout and
	// paint included wherever the library has them done.
	PaintedMedian    float64 `json:"painted_median_ms"`
	NetPaintedMedian float64 `json:"net_painted_median_ms"`
	// ReadyMedian is the library page's own DOMContentLoaded.
	ReadyMedian float64 `json:"dcl_median_ms"`
	// FetchStartMedian and FetchedMedian are when the library's first file
	// was requested and its last had arrived (resource timing).
	FetchStartMedian float64 `json:"fetch_start_median_ms"`
	FetchedMedian    float64 `json:"fetched_median_ms"`
	// Errors holds up to four distinct failure messages.
	Errors []string `json:"errors,omitempty"`

	times, net, painted, netPainted, ready, fetched, fetchStart []float64
}

// timeToBanner visits every target once per round, warmup rounds first (not
// counted), then runs rounds, each visit in a fresh browser context. The
// order within a round rotates so that no library always goes first.
func timeToBanner(ctx context.Context, b *browser, targets []target, runs, warmup int, timeout time.Duration) ([]Timing, error) {
	res := make([]Timing, len(targets))
	emptyAt := -1
	for i, t := range targets {
		res[i].Library = t.name
		if t.empty {
			emptyAt = i
		}
	}
	for round := range warmup + runs {
		got := make([]*marks, len(targets))
		for k := range targets {
			i := (k + round) % len(targets)
			m, err := b.visit(ctx, targets[i], timeout)
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if round < warmup {
				continue
			}
			r := &res[i]
			r.Runs++
			if err != nil {
				r.Failed++
				if msg := err.Error(); len(r.Errors) < 4 && !slices.Contains(r.Errors, msg) {
					r.Errors = append(r.Errors, msg)
				}
				continue
			}
			got[i] = &m
			at := m.Banner
			if targets[i].empty {
				at = m.Ready
			}
			r.times = append(r.times, at)
			r.ready = append(r.ready, m.Ready)
			r.painted = append(r.painted, m.Painted)
			r.fetched = append(r.fetched, m.Fetched)
			r.fetchStart = append(r.fetchStart, m.FetchStart)
		}
		if emptyAt >= 0 && got[emptyAt] != nil {
			for i, m := range got {
				if m != nil && i != emptyAt {
					res[i].net = append(res[i].net, m.Banner-got[emptyAt].Ready)
					res[i].netPainted = append(res[i].netPainted, m.Painted-got[emptyAt].Painted)
				}
			}
		}
	}
	for i := range res {
		r := &res[i]
		r.Median, r.P90 = percentile(r.times, 0.5), percentile(r.times, 0.9)
		r.NetMedian, r.NetP90 = percentile(r.net, 0.5), percentile(r.net, 0.9)
		r.ReadyMedian = percentile(r.ready, 0.5)
		r.PaintedMedian, r.NetPaintedMedian = percentile(r.painted, 0.5), percentile(r.netPainted, 0.5)
		r.FetchStartMedian, r.FetchedMedian = percentile(r.fetchStart, 0.5), percentile(r.fetched, 0.5)
	}
	return res, nil
}

// percentile is the nearest-rank percentile of xs (sorted in place); 0
// when empty.
func percentile(xs []float64, p float64) float64 {
	slices.Sort(xs)
	return loadstat.Percentile(xs, p)
}
