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
	"syscall"
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

// memPeak samples the Go heap (and, for the chrome engine, the memory of
// the browser's process tree) until stopped.
type memPeak struct {
	stop     chan struct{}
	done     sync.WaitGroup
	heap     atomic.Uint64
	browser  atomic.Uint64
	rootPID  int
	interval time.Duration
}

func startMemPeak(rootPID int) *memPeak {
	m := &memPeak{stop: make(chan struct{}), rootPID: rootPID, interval: 25 * time.Millisecond}
	m.done.Go(func() {
		var ms runtime.MemStats
		tick := 0
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > m.heap.Load() {
				m.heap.Store(v)
			}
			// Reading smaps_rollup costs CPU the scan would use (and that
			// go-CPU-ms/page counts): sample the browser once a second.
			if m.rootPID > 0 && tick%40 == 0 {
				if v := treePSS(m.rootPID); v > m.browser.Load() {
					m.browser.Store(v)
				}
			}
			tick++
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

// selfCPU is the CPU time of this process: the scanner and the fixture
// site together.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procTree reads /proc/*/stat (Linux; empty elsewhere): each live process's
// parent, and its CPU ticks (user + system, its own and its waited-for
// children's).
func procTree() (parents map[int]int, ticks map[int]uint64) {
	parents, ticks = map[int]int{}, map[int]uint64{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		parents[pid], _ = strconv.Atoi(f[1])
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseUint(f[k], 10, 64)
			ticks[pid] += v
		}
	}
	return parents, ticks
}

// inTree reports whether pid is root or descends from it.
func inTree(parents map[int]int, root, pid int) bool {
	for p := pid; p != 0; p = parents[p] {
		if p == root {
			return true
		}
		if _, ok := parents[p]; !ok {
			return false
		}
	}
	return false
}

// treeCPU sums the CPU time (user + system) of pid and its descendants,
// the live ones (Linux /proc; 0 elsewhere).
func treeCPU(root int) time.Duration {
	parents, ticks := procTree()
	var total uint64
	for pid, v := range ticks {
		if inTree(parents, root, pid) {
			total += v
		}
	}
	return time.Duration(total) * 10 * time.Millisecond // USER_HZ = 100
}

// treePSS sums the proportional set size of pid and its descendants: memory
// shared between the browser's processes counts once (Linux /proc; 0
// elsewhere).
func treePSS(root int) uint64 {
	parents, _ := procTree()
	var total uint64
	for pid := range parents {
		if !inTree(parents, root, pid) {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

func benchScan(b *testing.B, engine string, parallelism int, delay time.Duration) {
	site := benchSite(b)
	o := testOptions(site.url("/"))
	o.Engine = engine
	o.Pages = benchPages
	o.Parallelism = parallelism
	o.Delay = delay
	o.Timeout = 10 * time.Second
	rootPID := 0
	if engine == EngineChrome {
		o.Browser = needBrowser(b)
		if p := o.Browser.pid(); p > 0 {
			rootPID = p
		}
	}
	runtime.GC()
	cpu0 := treeCPU(rootPID)
	self0 := selfCPU()
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
	b.ReportMetric(float64((selfCPU()-self0).Milliseconds())/float64(pages), "go-CPU-ms/page")
	if rootPID > 0 {
		b.ReportMetric(float64(mp.browser.Load())/(1<<20), "peak-browser-PSS-MiB")
		b.ReportMetric(float64((treeCPU(rootPID)-cpu0).Milliseconds())/float64(pages), "browser-CPU-ms/page")
	}
}

// BenchmarkScanColly: the default politeness (4 requests at a time, 20ms
// pause after each) and none.
func BenchmarkScanColly(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchScan(b, EngineColly, 0, 0) })
	b.Run("no-delay", func(b *testing.B) { benchScan(b, EngineColly, 0, -1) })
}

// BenchmarkScanChrome: the default 4 tabs at a time, and 2.
func BenchmarkScanChrome(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchScan(b, EngineChrome, 0, 0) })
	b.Run("tabs=2", func(b *testing.B) { benchScan(b, EngineChrome, 2, 0) })
}
