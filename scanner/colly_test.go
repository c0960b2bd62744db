package scanner

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// siteFixture is a small site on site.test (and shop.site.test) with
// robots.txt, a sitemap index, redirects, and links to third parties.
type siteFixture struct {
	site, tracker, ads *fixture
	privateHits        atomic.Int32
}

func newSiteFixture(t *testing.T) *siteFixture {
	sf := &siteFixture{}
	sf.tracker = newFixture(t, "tracker.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "trk", Value: "1", MaxAge: 86400})
		w.Write([]byte("/* tracker */"))
	}))
	sf.ads = newFixture(t, "ads.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("GIF89a"))
	}))
	mux := http.NewServeMux()
	var site *fixture
	u := func(p string) string { return site.url(p) }
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private\n\nSitemap: %s\n", u("/sitemap_index.xml"))
	})
	mux.HandleFunc("/sitemap_index.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%s</loc></sitemap>
  <sitemap><loc>http://other.test/sitemap.xml</loc></sitemap>
</sitemapindex>`, u("/sitemap-pages.xml"))
	})
	mux.HandleFunc("/sitemap-pages.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>%s</loc></url>
  <url><loc>%s</loc></url>
  <url><loc>http://other.test/offsite</loc></url>
</urlset>`, u("/from-sitemap"), u("/private/secret"))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "shop.site.test:"+strings.Split(site.hostPort(), ":")[1] {
			http.SetCookie(w, &http.Cookie{Name: "cart", Value: "c", Domain: "site.test", Path: "/"})
			html(w, `shop`)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "PHPSESSID", Value: "abc", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1.1.1", Domain: "site.test", Path: "/",
			Expires: time.Now().Add(2 * 365 * 24 * time.Hour), SameSite: http.SameSiteLaxMode})
		// An invalid Domain (another site) must be ignored, as browsers do.
		w.Header().Add("Set-Cookie", "evil=1; Domain=other.test")
		// A deletion is not a cookie being set.
		w.Header().Add("Set-Cookie", "gone=; Max-Age=0")
		html(w, fmt.Sprintf(`
<a href="/about">about</a> <a href="/redirect">redirect</a> <a href="/private/x">private</a>
<a href="http://other.test/">elsewhere</a> <a href="mailto:a@b.c">mail</a> <a href="#top">top</a>
<a href="%s">shop</a> <a href="/about#section">about again</a>
<script src="%s"></script>
<img src="%s">
<link rel="stylesheet" href="/style.css"><link rel="canonical" href="/">
<iframe src="https://www.youtube.com/embed/abc"></iframe>`,
			strings.Replace(u("/"), "site.test", "shop.site.test", 1), sf.tracker.url("/t.js"), sf.ads.url("/px.gif?uid=123")))
	})
	mux.HandleFunc("/about", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "mystery_uid=42; Max-Age=63072000; Path=/")
		html(w, `<a href="/">home</a>`)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "hop_cookie", Value: "1", Path: "/"})
		http.Redirect(w, r, "/landing", http.StatusFound)
	})
	mux.HandleFunc("/landing", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "landing_cookie", Value: "1", Path: "/"})
		html(w, `landing`)
	})
	mux.HandleFunc("/from-sitemap", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sitemap_cookie", Value: "1"})
		html(w, `only in the sitemap`)
	})
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) {
		sf.privateHits.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "private_cookie", Value: "1"})
		html(w, `private`)
	})
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("body{}")) })
	site = newFixture(t, "site.test", mux)
	sf.site = site
	return sf
}

func TestCollyScan(t *testing.T) {
	sf := newSiteFixture(t)
	var progressCalls atomic.Int32
	o := testOptions(sf.site.url("/"))
	o.Progress = func(done, planned int) {
		progressCalls.Add(1)
		if done > planned {
			t.Errorf("progress: done %d > planned %d", done, planned)
		}
	}
	rep, err := Scan(testCtx(t, 30*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Engine != EngineColly || rep.URL != sf.site.url("/") || rep.Finished.Before(rep.Started) {
		t.Errorf("report header: %+v", rep)
	}
	if progressCalls.Load() == 0 {
		t.Error("no progress reported")
	}

	// Pages: start, links, sitemap-only page, the same-site subdomain; not
	// robots-disallowed or off-site pages.
	for _, p := range []string{"/", "/about", "/redirect", "/from-sitemap"} {
		pg := findPage(rep, sf.site.url(p))
		if pg == nil {
			t.Errorf("page %s not crawled; pages: %+v", p, rep.Pages)
			continue
		}
		if pg.Status != 200 {
			t.Errorf("page %s: status %d", p, pg.Status)
		}
	}
	if pg := findPage(rep, sf.site.url("/redirect")); pg != nil && pg.FinalURL != sf.site.url("/landing") {
		t.Errorf("redirect page final URL = %q", pg.FinalURL)
	}
	shop := strings.Replace(sf.site.url("/"), "site.test", "shop.site.test", 1)
	if findPage(rep, shop) == nil {
		t.Errorf("same-site subdomain %s not crawled", shop)
	}
	for _, p := range rep.Pages {
		if strings.Contains(p.URL, "other.test") || strings.Contains(p.URL, "/private") || strings.Contains(p.URL, "#") {
			t.Errorf("page %s should not be crawled", p.URL)
		}
	}
	if n := sf.privateHits.Load(); n != 0 {
		t.Errorf("robots.txt-disallowed pages fetched %d times", n)
	}

	sess := findCookie(rep, "PHPSESSID")
	if sess == nil {
		t.Fatalf("PHPSESSID not found: %+v", rep.Cookies)
	}
	want := Cookie{Name: "PHPSESSID", Domain: "site.test", Path: "/", HTTPOnly: true, SetBy: SetByHeader,
		Initiator: sf.site.url("/"), Category: Necessary, Source: SourceBuiltin}
	if sess.Domain != want.Domain || sess.Path != want.Path || !sess.HTTPOnly || sess.Expires != "" ||
		sess.SetBy != want.SetBy || sess.Initiator != want.Initiator || sess.Category != want.Category ||
		sess.Source != want.Source || sess.ThirdParty || sess.BeforeConsent {
		t.Errorf("PHPSESSID = %+v", *sess)
	}
	ga := findCookie(rep, "_ga")
	if ga == nil || ga.Domain != ".site.test" || ga.Category != Statistics || !ga.BeforeConsent ||
		ga.SameSite != "Lax" || ga.Expires == "" || ga.Provider != "Google Analytics" {
		t.Errorf("_ga = %+v", ga)
	}
	if c := findCookie(rep, "hop_cookie"); c == nil || c.Initiator != sf.site.url("/redirect") ||
		len(c.Pages) != 1 || c.Pages[0] != sf.site.url("/redirect") {
		t.Errorf("cookie set on a redirect hop = %+v", c)
	}
	if c := findCookie(rep, "landing_cookie"); c == nil || c.Initiator != sf.site.url("/landing") {
		t.Errorf("landing_cookie = %+v", c)
	}
	if c := findCookie(rep, "sitemap_cookie"); c == nil {
		t.Error("cookie of the sitemap-only page missing")
	}
	if c := findCookie(rep, "cart"); c == nil || c.Domain != ".site.test" || c.ThirdParty {
		t.Errorf("cart cookie from shop.site.test = %+v", c)
	}
	if c := findCookie(rep, "mystery_uid"); c == nil || c.Category != Unclassified ||
		c.Source != SourceHeuristic || !c.BeforeConsent || !strings.Contains(c.Hint, "identifier") {
		t.Errorf("mystery_uid = %+v", c)
	}
	for _, n := range []string{"private_cookie", "evil", "gone", "trk"} {
		if c := findCookie(rep, n); c != nil {
			t.Errorf("cookie %s should not be reported: %+v", n, *c)
		}
	}

	if r := findRequest(rep, sf.tracker.url("/t.js")); r == nil || !r.ThirdParty || r.Type != "script" {
		t.Errorf("tracker script request = %+v", r)
	}
	if r := findRequest(rep, sf.ads.url("/px.gif")); r == nil || !r.ThirdParty || r.Type != "img" {
		t.Errorf("pixel request (query dropped) = %+v; requests %+v", r, rep.Requests)
	}
	if r := findRequest(rep, sf.site.url("/style.css")); r == nil || r.ThirdParty || r.Type != "stylesheet" {
		t.Errorf("stylesheet request = %+v", r)
	}
	if r := findRequest(rep, "https://www.youtube.com/embed/abc"); r == nil || !r.ThirdParty || r.Type != "iframe" {
		t.Errorf("iframe request = %+v", r)
	}
	if findRequest(rep, sf.site.url("/")) != nil {
		t.Error("a canonical link is not a request")
	}
}

func TestScanBadInput(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	for _, tc := range []struct {
		o    Options
		want error
	}{
		{Options{URL: ""}, ErrBadURL},
		{Options{URL: "ftp://example.com/"}, ErrBadURL},
		{Options{URL: "http://user:pw@example.com/"}, ErrBadURL},
		{Options{URL: "http:///nohost"}, ErrBadURL},
		{Options{URL: "https://example.com", Engine: "lynx"}, ErrBadOptions},
		{Options{URL: "https://example.com", Consent: "all"}, ErrBadOptions},
		{Options{URL: "https://example.com", Engine: EngineChrome, Consent: "some"}, ErrBadOptions},
		{Options{URL: "https://example.com", Pages: -1}, ErrBadOptions},
		{Options{URL: "https://example.com", Pages: MaxPages + 1}, ErrBadOptions},
		{Options{URL: "https://example.com", Timeout: -time.Second}, ErrBadOptions},
	} {
		if _, err := Scan(ctx, tc.o); !errors.Is(err, tc.want) {
			t.Errorf("Scan(%+v) = %v, want %v", tc.o, err, tc.want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":                "https://example.com/",
		"HTTP://Example.COM/a?b=c#d": "http://example.com/a?b=c",
		" https://example.com:8443 ": "https://example.com:8443/",
	} {
		u, err := ParseTarget(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}
