package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hostileSite serves the traps a scanner must survive: endless links, an
// endless body, redirect loops and endless redirect chains, pages and a
// robots.txt that never finish.
func hostileSite(t *testing.T, hits *atomic.Int64) *fixture {
	mux := http.NewServeMux()
	stream := func(w http.ResponseWriter, r *http.Request, chunk []byte, pause time.Duration) {
		// Bounded, so a broken scanner fails the test instead of hanging it.
		for i := 0; i < 100000; i++ {
			if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
				return
			}
			if pause > 0 {
				w.(http.Flusher).Flush()
				select {
				case <-time.After(pause):
				case <-r.Context().Done():
					return
				}
			}
		}
	}
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		// An endless robots.txt: its body cap must stop it.
		w.Write([]byte("User-agent: *\nDisallow: /nothing\n"))
		stream(w, r, []byte(strings.Repeat("# padding padding padding\n", 2500)), 0)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		html(w, `<a href="/endless/0">endless</a> <a href="/huge">huge</a> <a href="/loop-a">loop</a>
<a href="/chain/0">chain</a> <a href="/slow">slow</a> <a href="/drip">drip</a> <a href="/alert">alert</a>`)
	})
	mux.HandleFunc("/endless/{n}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := strconv.Atoi(r.PathValue("n"))
		var b strings.Builder
		for i := 1; i <= 50; i++ {
			fmt.Fprintf(&b, `<a href="/endless/%d">%d</a>`, n*50+i, i)
		}
		w.Header().Add("Set-Cookie", fmt.Sprintf("endless_%d=1", n))
		html(w, b.String())
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><a href="/after-huge">x</a>`))
		stream(w, r, []byte(strings.Repeat("<p>filler filler filler filler</p>\n", 2000)), 0)
	})
	mux.HandleFunc("/loop-a", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Add("Set-Cookie", "loop=a")
		http.Redirect(w, r, "/loop-b", http.StatusFound)
	})
	mux.HandleFunc("/loop-b", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop-a", http.StatusFound)
	})
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := strconv.Atoi(r.PathValue("n"))
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n+1), http.StatusFound)
	})
	mux.HandleFunc("/alert", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		html(w, `<script>alert("hello"); document.cookie = "after_alert=1; path=/";</script>`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		stream(w, r, []byte("<"), 50*time.Millisecond)
	})
	return newFixture(t, "site.test", mux)
}

func TestCollyHostileSite(t *testing.T) {
	var hits atomic.Int64
	site := hostileSite(t, &hits)
	o := testOptions(site.url("/"))
	o.Pages = 30
	o.Timeout = 1 * time.Second
	o.MaxBodyBytes = 256 << 10
	o.MaxRedirects = 5
	ctx := testCtx(t, 60*time.Second)
	rep, err := Scan(ctx, o)
	if err != nil {
		t.Fatalf("scan of a hostile site: %v", err)
	}
	if len(rep.Pages) == 0 || len(rep.Pages) > o.Pages {
		t.Errorf("pages = %d, want 1..%d", len(rep.Pages), o.Pages)
	}
	if !rep.Truncated {
		t.Error("endless links: report should say it is truncated")
	}
	// Each planned page is fetched once, plus redirect hops (≤ MaxRedirects+1
	// per chain).
	if h := hits.Load(); h > int64(o.Pages+3*(o.MaxRedirects+2)) {
		t.Errorf("server saw %d page requests for a %d-page scan", h, o.Pages)
	}
	byPath := map[string]Page{}
	for _, p := range rep.Pages {
		byPath[strings.TrimPrefix(p.URL, site.url(""))] = p
	}
	if p, ok := byPath["/slow"]; !ok || p.Error == "" || p.Status != 0 {
		t.Errorf("slow page = %+v (want a timeout error)", p)
	}
	if p, ok := byPath["/drip"]; !ok || p.Error == "" {
		t.Errorf("dripping page = %+v (want a timeout error)", p)
	}
	if p, ok := byPath["/chain/0"]; !ok || p.Error == "" {
		t.Errorf("endless redirect chain = %+v (want an error)", p)
	}
	if p, ok := byPath["/huge"]; !ok || p.Status != 200 {
		t.Errorf("huge page = %+v (want it read up to the cap)", p)
	}
	if c := findCookie(rep, "loop"); c == nil {
		t.Error("cookie set inside a redirect loop not recorded")
	}
}

func TestScanCanceled(t *testing.T) {
	var hits atomic.Int64
	site := hostileSite(t, &hits)
	o := testOptions(site.url("/slow"))
	o.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.Progress = func(done, planned int) {
		if planned > 0 {
			cancel() // cancel once the first page is under way
		}
	}
	rep, err := Scan(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep == nil || !rep.Truncated {
		t.Fatalf("canceled scan: want a partial report marked truncated, got %+v", rep)
	}
}

func TestPrivateTargetsRefused(t *testing.T) {
	site := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, "hello")
	}))
	ctx := testCtx(t, 20*time.Second)
	for _, start := range []string{site.srv.URL + "/", site.url("/"), "http://[::1]:1/", "http://169.254.169.254/latest/meta-data/"} {
		o := testOptions(start)
		o.AllowPrivate = false
		rep, err := Scan(ctx, o)
		if !errors.Is(err, ErrPrivateTarget) || rep != nil {
			t.Errorf("Scan(%s) without AllowPrivate = %v, %v; want ErrPrivateTarget", start, rep, err)
		}
		if err != nil && !strings.Contains(start, "127.0.0.1") && strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error names the address: %v", err)
		}
	}
}

// internalFixture serves on 127.0.0.2 as internal.site.test and counts its
// hits: tests where only 127.0.0.1 counts as public check it is never
// reached.
func internalFixture(t *testing.T, hits *atomic.Int64) *fixture {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Add("Set-Cookie", "internal_secret=1")
		html(w, "internal")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, host: "internal.site.test"}
}

func onlyLoopback1(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }

func TestRedirectToPrivateRefusedAtDial(t *testing.T) {
	var internalHits atomic.Int64
	internal := internalFixture(t, &internalHits)
	site := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			html(w, `<a href="/go">go</a> <a href="`+internal.url("/direct")+`">direct</a>`)
		case "/go":
			http.Redirect(w, r, internal.url("/via-redirect"), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	o := testOptions(site.url("/"))
	o.AllowPrivate = false
	o.isPublic = onlyLoopback1
	rep, err := Scan(testCtx(t, 20*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("private host reached %d times", n)
	}
	if findCookie(rep, "internal_secret") != nil {
		t.Error("cookie from the private host recorded")
	}
	for _, p := range rep.Pages {
		if strings.HasSuffix(p.URL, "/go") && !strings.Contains(p.Error, "private") {
			t.Errorf("redirect to private host: page = %+v, want a private-target error", p)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": false, "127.1.2.3": false, "::1": false,
		"10.0.0.1": false, "172.16.0.1": false, "192.168.1.1": false, "fd00::1": false, "fc00::1": false,
		"169.254.169.254": false, "fe80::1": false, "fe80::1%eth0": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "239.255.255.250": false, "ff02::1": false, "ff05::2": false,
		"100.64.0.1": false, "100.127.255.254": false, "100.128.0.1": true,
		"192.0.0.8": false, "192.0.2.1": false, "198.18.0.1": false, "198.51.100.1": false, "203.0.113.1": false,
		"240.0.0.1": false, "255.255.255.255": false,
		"::ffff:127.0.0.1": false, "::ffff:8.8.8.8": true, "::ffff:10.0.0.1": false,
		"64:ff9b::a00:1": false, "64:ff9b::808:808": true,
		"2002:7f00:1::": false, "2002:808:808::": true,
		"2001:db8::1": false, "2001::1": false, "fec0::1": false, "100::1": false, "3fff::1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
	if PublicAddr(netip.Addr{}) {
		t.Error("invalid address counted as public")
	}
}

func TestScanLeavesNoGoroutines(t *testing.T) {
	sf := newSiteFixture(t)
	engines := []string{EngineColly}
	if testing.Short() {
		t.Skip("skipping in -short")
	}
	var b *Browser
	if _, err := FindBrowser(); err == nil {
		b = needBrowser(t)
		engines = append(engines, EngineChrome)
	}
	// Warm up once so lazily started goroutines (the browser's) exist.
	o := testOptions(sf.site.url("/"))
	o.Browser = b
	for _, e := range engines {
		o.Engine = e
		if _, err := Scan(testCtx(t, 60*time.Second), o); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for _, e := range engines {
		o.Engine = e
		if _, err := Scan(testCtx(t, 60*time.Second), o); err != nil {
			t.Fatal(err)
		}
	}
	var now int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Errorf("goroutines: %d before, %d after the scans\n%s", before, now, buf[:runtime.Stack(buf, true)])
}
