package scanner

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchPages = 200

// benchSite is a 200-page site: a sitemap lists every page, each page links
// to the next five, sets a session and an analytics cookie by header and
// one by script, and loads a first-party script.
func benchSite(tb testing.TB) *fixture {
	mux := http.NewServeMux()
	var site *fixture
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nAllow: /\nSitemap: %s\n", site.url("/sitemap.xml"))
	})
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for i := range benchPages {
			fmt.Fprintf(&b, "<url><loc>%s</loc></url>", site.url("/p/"+strconv.Itoa(i)))
		}
		b.WriteString("</urlset>")
		w.Write([]byte(b.String()))
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte(`document.cookie = "_clck=abc; max-age=31536000; path=/"; localStorage.setItem("app", "1");`))
	})
	page := func(w http.ResponseWriter, n int) {
		w.Header().Add("Set-Cookie", "PHPSESSID=s"+strconv.Itoa(n)+"; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "_ga=GA1.1."+strconv.Itoa(n)+"; Max-Age=63072000; Path=/")
		var b strings.Builder
		fmt.Fprintf(&b, "<h1>Page %d</h1><script src=\"/app.js\"></script>", n)
		for i := 1; i <= 5; i++ {
			fmt.Fprintf(&b, `<a href="/p/%d">next %d</a> `, (n+i)%benchPages, i)
		}
		b.WriteString(strings.Repeat("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>", 40))
		html(w, b.String())
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { page(w, 0) })
	mux.HandleFunc("/p/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n >= benchPages {
			http.NotFound(w, r)
			return
		}
		page(w, n)
	})
	site = newFixture(tb, "site.test", mux)
	return site
}

// memPeak samples the Go heap (and, for the chrome engine, the resident
// memory of the browser's process tree) until stopped.
type memPeak struct {
	stop     chan struct{}
	done     sync.WaitGroup
	heap     atomic.Uint64
	browser  atomic.Uint64
	rootPID  int
	interval time.Duration
}

func startMemPeak(rootPID int) *memPeak {
	m := &memPeak{stop: make(chan struct{}), rootPID: rootPID, interval: 20 * time.Millisecond}
	m.done.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > m.heap.Load() {
				m.heap.Store(v)
			}
			if m.rootPID > 0 {
				if v := treeRSS(m.rootPID); v > m.browser.Load() {
					m.browser.Store(v)
				}
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	})
	return m
}

func (m *memPeak) Stop() { close(m.stop); m.done.Wait() }

// treeRSS sums VmRSS of pid and its descendants (Linux /proc; 0 elsewhere).
func treeRSS(root int) uint64 {
	parents := map[int]int{}
	rss := map[int]uint64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		for line := range strings.SplitSeq(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "PPid:":
				parents[pid], _ = strconv.Atoi(f[1])
			case "VmRSS:":
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				rss[pid] = kb << 10
			}
		}
	}
	var total uint64
	for pid, v := range rss {
		for p := pid; p != 0; p = parents[p] {
			if p == root {
				total += v
				break
			}
			if _, ok := parents[p]; !ok {
				break
			}
		}
	}
	return total
}

func benchScan(b *testing.B, engine string, parallelism int) {
	site := benchSite(b)
	o := testOptions(site.url("/"))
	o.Engine = engine
	o.Pages = benchPages
	o.Parallelism = parallelism
	o.Timeout = 10 * time.Second
	rootPID := 0
	if engine == EngineChrome {
		o.Browser = needBrowser(b)
		if p := o.Browser.pid(); p > 0 {
			rootPID = p
		}
	}
	runtime.GC()
	mp := startMemPeak(rootPID)
	var pages int
	start := time.Now()
	for b.Loop() {
		rep, err := Scan(testCtx(b, 10*time.Minute), o)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Pages) != benchPages {
			b.Fatalf("scanned %d pages, want %d", len(rep.Pages), benchPages)
		}
		for _, p := range rep.Pages {
			if p.Status != http.StatusOK || p.Error != "" {
				b.Fatalf("page %+v failed", p)
			}
		}
		if c := findCookie(rep, "_clck"); engine == EngineChrome && (c == nil || c.SetBy != SetByScript) {
			b.Fatalf("script cookie _clck = %+v", c)
		}
		pages += len(rep.Pages)
	}
	elapsed := time.Since(start)
	mp.Stop()
	b.ReportMetric(float64(pages)/elapsed.Seconds(), "pages/s")
	b.ReportMetric(float64(mp.heap.Load())/(1<<20), "peak-heap-MiB")
	if rootPID > 0 {
		b.ReportMetric(float64(mp.browser.Load())/(1<<20), "peak-browser-RSS-MiB")
	}
}

func BenchmarkScanColly(b *testing.B) {
	for _, par := range []int{DefaultParallelism, 8} {
		b.Run("parallel="+strconv.Itoa(par), func(b *testing.B) { benchScan(b, EngineColly, par) })
	}
}

func BenchmarkScanChrome(b *testing.B) {
	for _, par := range []int{2, 4} {
		b.Run("parallel="+strconv.Itoa(par), func(b *testing.B) { benchScan(b, EngineChrome, par) })
	}
}
