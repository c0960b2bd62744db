package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chromeSite is a site whose cookies only a browser sees: set by inline and
// third-party scripts, by a cross-site iframe over HTTPS (a third-party
// cookie), and Web Storage writes.
type chromeSite struct {
	site, cdn, frame, ads *fixture
	userAgent             atomic.Value
	privateHits           atomic.Int32
}

func newChromeSite(t *testing.T) *chromeSite {
	cs := &chromeSite{}
	cs.cdn = newFixture(t, "cdn.tracker.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		// A third-party script writing a first-party cookie.
		w.Write([]byte(`document.cookie = "_fbp=fb.1.2.3; max-age=7776000; path=/";
localStorage.setItem("pixel_state", "1");`))
	}))
	cs.frame = newTLSFixture(t, "tracker.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A third-party cookie (cross-site iframe, SameSite=None; Secure).
		w.Header().Add("Set-Cookie", "tp_uid=42; Max-Age=86400; Path=/; SameSite=None; Secure")
		html(w, `<script>localStorage.setItem("frame_key", "x")</script>`)
	}))
	cs.ads = newFixture(t, "ads.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a"))
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("User-agent: *\nDisallow: /private\n"))
	})
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) {
		cs.privateHits.Add(1)
		html(w, "private")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		cs.userAgent.Store(r.UserAgent())
		http.SetCookie(w, &http.Cookie{Name: "PHPSESSID", Value: "abc", Path: "/", HttpOnly: true})
		html(w, fmt.Sprintf(`
<script>document.cookie = "_ga=GA1.2.3.4; max-age=63072000; path=/"; localStorage.setItem("inline_key", "v");</script>
<script src="%s"></script>
<iframe src="%s"></iframe>
<img src="%s">
<a href="/second">second</a> <a href="/private/x">private</a>`, cs.cdn.url("/pixel.js"), cs.frame.url("/frame"), cs.ads.url("/px.gif?r=1")))
	})
	mux.HandleFunc("/second", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<script>localStorage.direct_prop = "1"; setTimeout(() => { document.cookie = "late_cookie=1; path=/" }, 50)</script>`)
	})
	cs.site = newFixture(t, "site.test", mux)
	return cs
}

func TestChromeScan(t *testing.T) {
	b := needBrowser(t)
	cs := newChromeSite(t)
	o := testOptions(cs.site.url("/"))
	o.Engine = EngineChrome
	o.Browser = b
	rep, err := Scan(testCtx(t, 60*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Engine != EngineChrome || len(rep.Pages) != 2 {
		t.Errorf("engine = %q, pages %+v", rep.Engine, rep.Pages)
	}
	if n := cs.privateHits.Load(); n != 0 {
		t.Errorf("robots.txt-disallowed page loaded %d times", n)
	}
	if ua, _ := cs.userAgent.Load().(string); !strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Headless") ||
		!strings.HasSuffix(ua, "CrumbScanner/1") {
		t.Errorf("browser user agent = %q", ua)
	}
	for _, p := range []string{"/", "/second"} {
		if pg := findPage(rep, cs.site.url(p)); pg == nil || pg.Status != 200 || pg.Error != "" {
			t.Errorf("page %s = %+v; pages %+v", p, pg, rep.Pages)
		}
	}
	if c := findCookie(rep, "PHPSESSID"); c == nil || c.SetBy != SetByHeader || c.Initiator != cs.site.url("/") ||
		!c.HTTPOnly || c.Category != Necessary || c.BeforeConsent {
		t.Errorf("PHPSESSID = %+v", c)
	}
	if c := findCookie(rep, "_ga"); c == nil || c.SetBy != SetByScript || c.Initiator != cs.site.url("/") ||
		c.Domain != "site.test" || c.Category != Statistics || !c.BeforeConsent || c.Expires == "" {
		t.Errorf("_ga (inline script) = %+v", c)
	}
	if c := findCookie(rep, "_fbp"); c == nil || c.SetBy != SetByScript || c.Initiator != cs.cdn.url("/pixel.js") ||
		c.ThirdParty || c.Category != Marketing || !c.BeforeConsent {
		t.Errorf("_fbp (third-party script, first-party cookie) = %+v", c)
	}
	if c := findCookie(rep, "tp_uid"); c == nil || c.SetBy != SetByHeader || !c.ThirdParty || c.Domain != "tracker.test" ||
		c.SameSite != "None" || !c.Secure || c.Initiator != cs.frame.url("/frame") {
		t.Errorf("tp_uid (third-party cookie) = %+v", c)
	}
	if c := findCookie(rep, "late_cookie"); c == nil || len(c.Pages) != 1 || c.Pages[0] != cs.site.url("/second") {
		t.Errorf("late_cookie = %+v", c)
	}
	storage := map[string]StorageItem{}
	for _, s := range rep.Storage {
		storage[s.Key] = s
	}
	if s, ok := storage["inline_key"]; !ok || s.Kind != "local" || s.ThirdParty || s.Initiator != cs.site.url("/") {
		t.Errorf("inline_key = %+v", s)
	}
	if s, ok := storage["pixel_state"]; !ok || s.Initiator != cs.cdn.url("/pixel.js") {
		t.Errorf("pixel_state = %+v", s)
	}
	if s, ok := storage["frame_key"]; !ok || !s.ThirdParty {
		t.Errorf("frame_key = %+v", s)
	}
	if _, ok := storage["direct_prop"]; !ok {
		t.Errorf("direct_prop (set without setItem) missing: %+v", rep.Storage)
	}
	if r := findRequest(rep, cs.ads.url("/px.gif")); r == nil || !r.ThirdParty || r.Type != "image" {
		t.Errorf("pixel request = %+v", r)
	}
	if r := findRequest(rep, cs.cdn.url("/pixel.js")); r == nil || !r.ThirdParty || r.Type != "script" {
		t.Errorf("script request = %+v", r)
	}
}

func TestChromePrivateRefused(t *testing.T) {
	b := needBrowser(t)
	var internalHits atomic.Int64
	internal := internalFixture(t, &internalHits)
	literal := strings.Replace(internal.url("/literal"), "internal.site.test", "127.0.0.2", 1)
	site := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<img src="`+internal.url("/by-name")+`"><img src="`+literal+`">
<iframe src="`+internal.url("/frame")+`"></iframe>
<script>fetch("`+literal+`").catch(() => {})</script>`)
	}))
	o := testOptions(site.url("/"))
	o.Engine = EngineChrome
	o.Browser = b
	o.AllowPrivate = false
	o.isPublic = onlyLoopback1
	rep, err := Scan(testCtx(t, 60*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the browser reached a private address %d times", n)
	}
	if len(rep.Pages) != 1 || rep.Pages[0].Status != 200 {
		t.Errorf("pages = %+v", rep.Pages)
	}

	// Control: allowed, the same page does reach the host, by name and by
	// literal address.
	o.AllowPrivate = true
	if _, err := Scan(testCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := internalHits.Load(); n < 3 {
		t.Errorf("control scan reached the internal host %d times, want ≥ 3", n)
	}

	o.AllowPrivate = false
	o.URL = site.srv.URL + "/"
	o.isPublic = nil
	if _, err := Scan(testCtx(t, 10*time.Second), o); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("chrome scan of 127.0.0.1 without AllowPrivate: err = %v", err)
	}
}

// consentSite mimics a site using the Crumb banner (DESIGN §6): a
// <crumb-consent> element with an open shadow root and data-action buttons.
// It sets a Hotjar cookie regardless of consent (a violation), loads
// analytics only after Accept all, and its server sets an ads cookie once the
// consent cookie says so.
func consentSite(t *testing.T) *fixture {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("crumb_consent"); err == nil && c.Value == "accept" {
			w.Header().Add("Set-Cookie", "_gcl_au=1.1.1; Max-Age=7776000; Path=/")
		}
		html(w, `
<script>document.cookie = "_hjSession_123=eyJ; max-age=1800; path=/";</script>
<script>
function loadAnalytics() { const s = document.createElement("script"); s.src = "/analytics.js"; document.head.appendChild(s); }
class CrumbConsent extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = '<button data-action="accept_all">Accept all</button><button data-action="reject_all">Reject all</button>';
    root.querySelector('[data-action="accept_all"]').addEventListener("click", () => {
      document.cookie = "crumb_consent=accept; max-age=31536000; path=/"; loadAnalytics(); this.remove();
    });
    root.querySelector('[data-action="reject_all"]').addEventListener("click", () => {
      document.cookie = "crumb_consent=reject; max-age=31536000; path=/"; this.remove();
    });
  }
}
customElements.define("crumb-consent", CrumbConsent);
if (document.cookie.includes("crumb_consent=accept")) loadAnalytics();
else if (!document.cookie.includes("crumb_consent=")) setTimeout(() => document.body.appendChild(document.createElement("crumb-consent")), 100);
</script>`)
	})
	mux.HandleFunc("/analytics.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Write([]byte(`document.cookie = "_ga=GA1.1.1.1; max-age=63072000; path=/";`))
	})
	mux.HandleFunc("/nobanner", func(w http.ResponseWriter, r *http.Request) { html(w, "no banner here") })
	return newFixture(t, "site.test", mux)
}

func TestChromeConsentPhases(t *testing.T) {
	b := needBrowser(t)
	site := consentSite(t)
	o := testOptions(site.url("/"))
	o.Engine = EngineChrome
	o.Browser = b
	o.Consent = "all"
	rep, err := Scan(testCtx(t, 90*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Consent != "all" || len(rep.Phases) != 3 {
		t.Fatalf("consent %q, phases %+v", rep.Consent, rep.Phases)
	}
	for _, ph := range rep.Phases {
		if ph.Pages != 1 || ph.BannerMissing != 0 {
			t.Errorf("phase %+v", ph)
		}
	}
	for _, tc := range []struct {
		name               string
		phases             string
		before, afterRejct bool
	}{
		{"_hjSession_123", "before_consent,after_accept,after_reject", true, true},
		{"_ga", "after_accept", false, false},
		{"_gcl_au", "after_accept", false, false},
		{"crumb_consent", "after_accept,after_reject", false, false},
	} {
		c := findCookie(rep, tc.name)
		if c == nil {
			t.Errorf("%s missing; cookies %+v", tc.name, rep.Cookies)
			continue
		}
		if got := strings.Join(c.Phases, ","); got != tc.phases || c.BeforeConsent != tc.before || c.AfterReject != tc.afterRejct {
			t.Errorf("%s: phases %q before %v after_reject %v; want %q %v %v", tc.name, got, c.BeforeConsent, c.AfterReject,
				tc.phases, tc.before, tc.afterRejct)
		}
	}
	if c := findCookie(rep, "_gcl_au"); c != nil && c.SetBy != SetByHeader {
		t.Errorf("_gcl_au set by %q, want header", c.SetBy)
	}
	if c := findCookie(rep, "_ga"); c != nil && c.Initiator != site.url("/analytics.js") {
		t.Errorf("_ga initiator %q", c.Initiator)
	}
}

func TestChromeBannerMissing(t *testing.T) {
	b := needBrowser(t)
	site := consentSite(t)
	o := testOptions(site.url("/nobanner"))
	o.Engine = EngineChrome
	o.Browser = b
	o.Consent = "all"
	o.Timeout = 2 * time.Second
	rep, err := Scan(testCtx(t, 60*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Phases) != 3 {
		t.Fatalf("phases = %+v", rep.Phases)
	}
	for _, ph := range rep.Phases {
		if ph.Pages != 1 || (ph.Name != PhaseBeforeConsent && ph.BannerMissing != 1) {
			t.Errorf("phase %+v: want the missing banner counted", ph)
		}
	}
}

func TestChromeHostileSite(t *testing.T) {
	b := needBrowser(t)
	var hits atomic.Int64
	site := hostileSite(t, &hits)
	o := testOptions(site.url("/"))
	o.Engine = EngineChrome
	o.Browser = b
	o.Pages = 10
	o.Timeout = 2 * time.Second
	o.MaxBodyBytes = 256 << 10
	rep, err := Scan(testCtx(t, 90*time.Second), o)
	if err != nil {
		t.Fatalf("chrome scan of a hostile site: %v", err)
	}
	if len(rep.Pages) == 0 || len(rep.Pages) > o.Pages || !rep.Truncated {
		t.Errorf("pages = %d (want 1..%d), truncated = %v", len(rep.Pages), o.Pages, rep.Truncated)
	}
	if h := hits.Load(); h > int64(o.Pages+60) {
		t.Errorf("server saw %d requests for a %d-page scan", h, o.Pages)
	}
	if c := findCookie(rep, "after_alert"); c == nil {
		t.Errorf("a page with an alert: the cookie set after it is missing; pages %+v", rep.Pages)
	}
}

func TestChromeScanCanceled(t *testing.T) {
	b := needBrowser(t)
	var hits atomic.Int64
	site := hostileSite(t, &hits)
	o := testOptions(site.url("/slow"))
	o.Engine = EngineChrome
	o.Browser = b
	o.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for hits.Load() == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel() // once the browser is waiting for the slow page
	}()
	rep, err := Scan(ctx, o)
	if !errors.Is(err, context.Canceled) || rep == nil || !rep.Truncated {
		t.Fatalf("canceled chrome scan = %+v, %v", rep, err)
	}
	// The shared browser still works.
	site2 := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "ok") }))
	o.URL = site2.url("/")
	if rep, err := Scan(testCtx(t, 30*time.Second), o); err != nil || len(rep.Pages) != 1 || rep.Pages[0].Status != 200 {
		t.Fatalf("scan after a cancel: %+v, %v", rep, err)
	}
}
