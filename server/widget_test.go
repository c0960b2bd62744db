package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/widget"
)

func TestWidgetDelivery(t *testing.T) {
	ts := startServer(t)
	path := "/v1/sites/" + ts.site.ID + "/widget.js"
	resp, plain := ts.do(t, "GET", path, nil, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, plain)
	}
	for header, want := range map[string]string{
		"Content-Type":   "text/javascript; charset=utf-8",
		"Crumb-Rule-Set": "opt-in",
		"Vary":           "Accept-Encoding, Accept-Language",
		"Cache-Control":  widgetCacheControl,
	} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("no strong ETag: %q", etag)
	}
	js := string(plain)
	if !strings.Contains(js, ts.site.ID) || !strings.Contains(js, ts.site.Banner) || !strings.Contains(js, ts.url) {
		t.Fatal("widget.js lacks the site id, version or API URL")
	}
	// German built-in texts are inlined for a German visitor, French are not.
	de, fr := builtinTitle(t, "de"), builtinTitle(t, "fr")
	if !strings.Contains(js, de) || strings.Contains(js, fr) {
		t.Fatalf("language selection: has de %v, has fr %v", strings.Contains(js, de), strings.Contains(js, fr))
	}

	// Languages the site cannot speak do not make a new variant.
	resp, _ = ts.do(t, "GET", path, nil, "Accept-Language", "xx-YY, de-DE;q=0.9, zz;q=0.8, en;q=0.5")
	if resp.Header.Get("ETag") != etag {
		t.Error("an Accept-Language with unknown languages changed the response")
	}

	// Revalidation.
	resp, body := ts.do(t, "GET", path, nil, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5", "If-None-Match", etag)
	if resp.StatusCode != 304 || len(body) != 0 {
		t.Fatalf("If-None-Match: %d, %d bytes", resp.StatusCode, len(body))
	}

	// Compression, decoded back to the same bytes.
	resp, gz := ts.do(t, "GET", path, nil, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not used: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, plain) {
		t.Fatal("gzip body differs from the plain one")
	}
	resp, br := ts.do(t, "GET", path, nil, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5", "Accept-Encoding", "gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("brotli not used: %v", resp.Header)
	}
	unbr, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
	if !bytes.Equal(unbr, plain) {
		t.Fatal("brotli body differs from the plain one")
	}
	if resp.Header.Get("ETag") != etag {
		t.Fatal("the ETag names the content, not its encoding; it must not change")
	}
	resp, _ = ts.do(t, "GET", path, nil, "Accept-Encoding", "br;q=0, gzip;q=0")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("q=0 encodings must not be used")
	}

	// A new banner version changes the response and its ETag at once.
	cfg := widget.DefaultConfig()
	cfg.Theme = "dark"
	canonical := cfg.Canonical()
	if err := ts.sites.SaveBanner(ts.site.ID, account.Banner{Version: widget.VersionOf(canonical), Config: canonical}); err != nil {
		t.Fatal(err)
	}
	resp, _ = ts.do(t, "GET", path, nil, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5", "If-None-Match", etag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Fatalf("after a new version: %d, etag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

func TestSiteConfigEndpoint(t *testing.T) {
	ts := startServer(t)
	resp, body := ts.do(t, "GET", "/v1/sites/"+ts.site.ID+"/config", nil, "Accept-Language", "fr")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var cfg struct {
		Site, Version, API string
		RuleSet            string `json:"rule_set"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Site != ts.site.ID || cfg.Version != ts.site.Banner || cfg.RuleSet != "opt-in" || cfg.API != ts.url {
		t.Fatalf("config %+v", cfg)
	}
	if !strings.Contains(string(body), builtinTitle(t, "fr")) {
		t.Fatal("French texts missing for a French visitor")
	}
}

// regionsFunc adapts a function to Regions.
type regionsFunc func(netip.Addr) (string, string)

func (f regionsFunc) Lookup(a netip.Addr) (string, string) { return f(a) }

func TestRegionsPickRuleSetAndCountry(t *testing.T) {
	var seen netip.Addr
	ts := startServer(t)
	ts.srv.deps.Regions = regionsFunc(func(a netip.Addr) (string, string) {
		seen = a
		return "US", widget.OptOut
	})
	resp, _ := ts.do(t, "GET", "/v1/sites/"+ts.site.ID+"/widget.js", nil)
	if resp.Header.Get("Crumb-Rule-Set") != "opt-out" {
		t.Fatalf("rule set %q", resp.Header.Get("Crumb-Rule-Set"))
	}
	if seen != netip.MustParseAddr("127.0.0.0") {
		t.Fatalf("regions saw %v: they must only ever see the anonymised address", seen)
	}
	resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var cr consentResponse
	json.Unmarshal(body, &cr)
	p, _ := ts.ledger.Proof(t.Context(), cr.ID)
	if !strings.Contains(string(p.Leaf), `"country":"US"`) {
		t.Fatalf("country not recorded: %s", p.Leaf)
	}
}

func builtinTitle(t *testing.T, lang string) string {
	t.Helper()
	var cfg struct {
		Texts map[string]struct{ Title string }
	}
	body, err := widget.PublicConfig(widget.Page{Site: "s", API: "https://c.example", Version: "v1", RuleSet: "opt-in", Config: widget.DefaultConfig(), Languages: []string{lang}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatal(err)
	}
	title := cfg.Texts[lang].Title
	if title == "" {
		t.Fatalf("no built-in %s title in %s", lang, body)
	}
	b, _ := json.Marshal(title)
	return strings.Trim(string(b), `"`)
}

func TestWidgetCacheRendersAMissOnce(t *testing.T) {
	wc := newWidgetCache(2)
	var renders atomic.Int32
	release := make(chan struct{})
	render := func() ([]byte, error) {
		renders.Add(1)
		<-release
		return []byte("js"), nil
	}
	var wg sync.WaitGroup
	got := make([]*renderedWidget, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = wc.get("k", render)
		}()
	}
	for renders.Load() == 0 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Fatalf("%d concurrent misses rendered %d times", len(got), n)
	}
	for _, w := range got {
		if w != got[0] || string(w.plain) != "js" {
			t.Fatal("waiters got different results")
		}
	}
	// A full cache makes room for one entry; it does not empty itself.
	once := func() ([]byte, error) { return []byte("x"), nil }
	wc.get("a", once)
	wc.get("b", once)
	if len(wc.entries) != 2 {
		t.Fatalf("cache holds %d entries, max 2", len(wc.entries))
	}
	// A failed render is not cached.
	if _, err := wc.get("bad", func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("render error lost")
	}
	if _, ok := wc.entries["bad"]; ok || len(wc.pending) != 0 {
		t.Fatal("a failed render stayed in the cache")
	}
}

func TestWidgetHostileHeaders(t *testing.T) {
	ts := startServer(t)
	path := "/v1/sites/" + ts.site.ID + "/widget.js"
	_, plain := ts.do(t, "GET", path, nil)
	cases := map[string][]string{
		"long Accept-Language":     {"Accept-Language", strings.Repeat("de-DE;q=0.9, xx-YY;q=0.1, ", 100)},
		"huge Accept-Language":     {"Accept-Language", strings.Repeat("de-DE;q=0.9, xx-YY;q=0.1, ", 300)},
		"garbage Accept-Language":  {"Accept-Language", ";;;q=NaN,,,*;q=-1,en;q=2,\\,\"x\""},
		"many languages":           {"Accept-Language", "fr,de,it,es,pt,nl,pl,sv,da,fi,cs,sk,sl,hu,ro,bg,el,et,lv,lt,mt,ga,hr"},
		"garbage Accept-Encoding":  {"Accept-Encoding", ";;;br;q=x, gzip;q=, *"},
		"garbage If-None-Match":    {"If-None-Match", `W/"",,,"` + strings.Repeat("x", 2000)},
		"wildcard If-None-Match":   {"If-None-Match", "*"},
		"unicode Accept-Language":  {"Accept-Language", "日本語, ру;q=0.5"},
		"empty headers everywhere": {"Accept-Language", ""},
	}
	for name, h := range cases {
		resp, body := ts.do(t, "GET", path, nil, h...)
		switch {
		case name == "huge Accept-Language":
			// Over the server's header buffer: a clear error, not a crash.
			if resp.StatusCode != 431 || !strings.Contains(string(body), `"error"`) {
				t.Errorf("%s: status %d: %s", name, resp.StatusCode, body)
			}
		case name == "wildcard If-None-Match":
			if resp.StatusCode != 304 {
				t.Errorf("%s: status %d, want 304", name, resp.StatusCode)
			}
		case resp.StatusCode != 200:
			t.Errorf("%s: status %d: %s", name, resp.StatusCode, body)
		case resp.Header.Get("Content-Encoding") == "" && len(body) < len(plain)/2:
			t.Errorf("%s: a truncated widget (%d bytes)", name, len(body))
		}
	}
	// Many languages are answered with at most the languages Render inlines.
	_, many := ts.do(t, "GET", path, nil, "Accept-Language", cases["many languages"][1])
	if strings.Count(string(many), `"dir":"ltr"`) > 9 {
		t.Errorf("more than 9 languages inlined")
	}
}
