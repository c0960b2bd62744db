package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/internal/browsertest"
	"github.com/crumb-consent/crumb/widget"
)

// End-to-end tests: the real widget bundle, served by the real server, in
// real Chromium, posting to the real consent endpoint and ledger.

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	os.Exit(code)
}

// hostPage serves an owner's page at http://shop.crumb.test:PORT/ (the
// browser resolves *.crumb.test to loopback) with one blocked statistics
// script and the widget tag.
func hostPage(t *testing.T, widgetURL string) string {
	return ownerPage(t, "shop.crumb.test", widgetURL, "")
}

// ownerPage serves a page like hostPage's at http://HOST:PORT/ with extra
// HTML in its body.
func ownerPage(t *testing.T, host, widgetURL, extra string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Shop</title></head><body>
<h1>Shop</h1>
<script type="text/plain" data-crumb-category="statistics">window.statsRan = (window.statsRan || 0) + 1</script>
<script src="%s" async></script>
%s
</body></html>`, widgetURL, extra)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://" + host + ":" + port + "/"
}

func e2eSite(t *testing.T, ts *testServer) account.Site {
	t.Helper()
	canonical := widget.DefaultConfig().Canonical()
	site, err := ts.sites.CreateSite(account.Site{Domains: []string{"shop.crumb.test"}},
		account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		t.Fatal(err)
	}
	return site
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func openPage(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	waitFor(t, ctx, "window.Crumb", func() bool { return evalJS[bool](t, ctx, `!!window.Crumb`) })
}

func clickAction(t *testing.T, ctx context.Context, action string) {
	t.Helper()
	js := `(() => { const b = document.querySelector('crumb-consent')?.shadowRoot?.querySelector('[data-action=` + action + `]');
		if (!b || !b.checkVisibility()) return false; b.click(); return true })()`
	waitFor(t, ctx, action+" button", func() bool { return evalJS[bool](t, ctx, js) })
}

func consentCookie(t *testing.T, ctx context.Context) string {
	t.Helper()
	c := evalJS[string](t, ctx, `(document.cookie.split('; ').find(c => c.startsWith('crumb_consent=')) || '').slice(14)`)
	v, _ := url.QueryUnescape(c)
	return v
}

func TestBrowserConsentReachesLedger(t *testing.T) {
	ts := startServer(t)
	ctx := browsertest.Tab(t, 60*time.Second)
	site := e2eSite(t, ts)
	page := hostPage(t, ts.url+"/v1/sites/"+site.ID+"/widget.js")

	openPage(t, ctx, page)
	if evalJS[bool](t, ctx, `!!window.statsRan`) {
		t.Fatal("a statistics script ran before consent")
	}
	clickAction(t, ctx, "accept_all")
	waitFor(t, ctx, "the consent in the ledger", func() bool { return ts.ledger.Size(site.ID) == 1 })
	waitFor(t, ctx, "the receipt in crumb_consent", func() bool { return strings.Count(consentCookie(t, ctx), ".") == 2 })
	claims, err := ts.receipts.Verify(consentCookie(t, ctx))
	if err != nil {
		t.Fatalf("the cookie does not hold a valid receipt: %v (%q)", err, consentCookie(t, ctx))
	}
	if claims.Subject != site.ID || !claims.State.Marketing || !claims.State.Statistics {
		t.Fatalf("receipt claims %+v", claims)
	}
	if evalJS[int](t, ctx, `window.statsRan || 0`) != 1 {
		t.Fatal("the statistics script did not run once after accept")
	}
	p, err := ts.ledger.Proof(ctx, claims.ID)
	if err != nil || !strings.Contains(string(p.Leaf), `"method":"accept_all"`) || !strings.Contains(string(p.Leaf), `"url":"`+page) {
		t.Fatalf("ledger record: %s %v", p.Leaf, err)
	}

	// A reload keeps the choice: no banner, the script runs, nothing is posted again.
	openPage(t, ctx, page)
	waitFor(t, ctx, "the statistics script", func() bool { return evalJS[int](t, ctx, `window.statsRan || 0`) == 1 })
	if evalJS[bool](t, ctx, `(() => { const b = document.querySelector('crumb-consent')?.shadowRoot?.querySelector('[role=dialog]'); return !!b && b.checkVisibility() })()`) {
		t.Fatal("the banner shows again after a choice")
	}
	time.Sleep(200 * time.Millisecond)
	if n := ts.ledger.Size(site.ID); n != 1 {
		t.Fatalf("a reload posted again: tree size %d", n)
	}
}

func TestBrowserConsentSurvivesServerDowntime(t *testing.T) {
	ts := startServer(t)
	ctx := browsertest.Tab(t, 60*time.Second)
	site := e2eSite(t, ts)
	addr := strings.TrimPrefix(ts.url, "http://")

	// The widget is served by a separate static copy so that the page still
	// loads while the API is down, as with a CDN in front of the widget.
	openWidget := func() string {
		resp, err := http.Get(ts.url + "/v1/sites/" + site.ID + "/widget.js")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		js, _ := io.ReadAll(resp.Body)
		cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		}))
		t.Cleanup(cdn.Close)
		return cdn.URL + "/widget.js"
	}
	page := hostPage(t, openWidget())
	openPage(t, ctx, page)

	// The API goes down; the visitor rejects.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	clickAction(t, ctx, "reject_all")
	waitFor(t, ctx, "the pending choice in crumb_consent", func() bool { return consentCookie(t, ctx) != "" })
	if strings.Count(consentCookie(t, ctx), ".") == 2 {
		t.Fatal("a receipt while the server was down")
	}
	if evalJS[bool](t, ctx, `!!window.statsRan`) {
		t.Fatal("rejected statistics script ran")
	}

	// The API comes back on the same address; the next page view delivers
	// the consent, once.
	srv2, err := New(Config{PublicURL: ts.url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Deps{Ledger: ts.ledger, Sites: ts.sites, Receipts: ts.receipts})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv2.Serve(ln)
	t.Cleanup(func() { srv2.Shutdown(context.Background()) })
	if ts.ledger.Size(site.ID) != 0 {
		t.Fatal("something reached the ledger while the server was down")
	}
	openPage(t, ctx, page)
	waitFor(t, ctx, "the retried consent", func() bool { return ts.ledger.Size(site.ID) == 1 })
	waitFor(t, ctx, "the receipt", func() bool { return strings.Count(consentCookie(t, ctx), ".") == 2 })
	claims, err := ts.receipts.Verify(consentCookie(t, ctx))
	if err != nil || claims.State.Statistics || claims.State.Marketing {
		t.Fatalf("receipt %+v %v", claims, err)
	}
	for i := 0; i < 2; i++ {
		openPage(t, ctx, page)
	}
	time.Sleep(200 * time.Millisecond)
	if n := ts.ledger.Size(site.ID); n != 1 {
		t.Fatalf("the consent was delivered %d times", n)
	}
}

// TestBrowserConsentSharedAcrossSites: two sites of one account that share
// consent, on different hosts. A choice on the first travels with a link to
// the second, which applies it without a banner and records its own consent
// naming the first.
func TestBrowserConsentSharedAcrossSites(t *testing.T) {
	ts := startServer(t)
	ctx := browsertest.Tab(t, 60*time.Second)
	a := ts.addSite(t, account.Site{Name: "Shop", Domains: []string{"shop.crumb.test"}}, true)
	b := ts.addSite(t, account.Site{Name: "Bakery", Domains: []string{"bakery.crumb.test"}}, true)
	pageB := ownerPage(t, "bakery.crumb.test", ts.url+"/v1/sites/"+b.ID+"/widget.js", "")
	pageA := ownerPage(t, "shop.crumb.test", ts.url+"/v1/sites/"+a.ID+"/widget.js",
		`<a id="to-bakery" href="`+pageB+`welcome?from=shop#top">bakery</a>`)

	openPage(t, ctx, pageA)
	clickAction(t, ctx, "accept_all")
	waitFor(t, ctx, "the consent in A's log", func() bool { return ts.ledger.Size(a.ID) == 1 })
	waitFor(t, ctx, "the receipt in crumb_consent", func() bool { return strings.Count(consentCookie(t, ctx), ".") == 2 })
	claims, err := ts.receipts.Verify(consentCookie(t, ctx))
	if err != nil {
		t.Fatal(err)
	}

	evalJS[bool](t, ctx, `(document.getElementById('to-bakery').click(), true)`)
	waitFor(t, ctx, "the bakery's page", func() bool {
		return evalJS[bool](t, ctx, `location.hostname === 'bakery.crumb.test' && !!window.Crumb`)
	})
	waitFor(t, ctx, "B's own consent in its log", func() bool { return ts.ledger.Size(b.ID) == 1 })
	if got := evalJS[string](t, ctx, `location.pathname + location.search + location.hash`); got != "/welcome?from=shop#top" {
		t.Errorf("B's URL after the handoff: %q", got)
	}
	waitFor(t, ctx, "the statistics script on B", func() bool { return evalJS[int](t, ctx, `window.statsRan || 0`) == 1 })
	if evalJS[bool](t, ctx, `(() => { const d = document.querySelector('crumb-consent')?.shadowRoot?.querySelector('[role=dialog]'); return !!d && d.checkVisibility() })()`) {
		t.Error("B shows its banner although the visitor chose on A")
	}
	waitFor(t, ctx, "B's receipt", func() bool { return strings.Count(consentCookie(t, ctx), ".") == 2 })
	onB, err := ts.receipts.Verify(consentCookie(t, ctx))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.ledger.Proof(ctx, onB.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := consent.ParseRecord(p.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Site != b.ID || rec.SharedFrom != claims.ID || rec.Method != "accept_all" || !rec.State.Marketing {
		t.Errorf("B's record %+v, want accept_all shared from %s", rec, claims.ID)
	}
	time.Sleep(200 * time.Millisecond)
	if n := ts.ledger.Size(b.ID); n != 1 {
		t.Errorf("B recorded %d consents, want 1", n)
	}
}
