package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/loadstat"
	"github.com/crumb-consent/crumb/bench/internal/realserver"

	"github.com/valyala/fasthttp"
)

// Options configure one run.
type Options struct {
	// Libs are the libraries compared, a subset of allLibs (default all),
	// and the floor pages (libFloor, libFloorSync) when named.
	Libs []string
	// Modules is the node_modules directory holding the npm libraries
	// (default: found by findModules).
	Modules string
	// Runs is the timed visits per page (default 20); WarmupRuns rounds
	// come first and are not counted (default 1; negative: none).
	Runs, WarmupRuns int
	// Chromium is the browser binary (default: chromiumPath).
	Chromium string
	// VisitTimeout bounds one visit: navigation and banner (default 15s).
	VisitTimeout time.Duration
	// LoadClients, LoadDuration and LoadWarmup shape the widget endpoint
	// load (default 64 clients, 5s measured after 500ms).
	LoadClients              int
	LoadDuration, LoadWarmup time.Duration
	// ColdMisses is the sequential widget.js cache misses measured after
	// the load (default 20); the burst has LoadClients requests.
	ColdMisses int
	// Trace, when positive, adds that many traced visits per library
	// after the timed ones, for Report.Breakdowns and Report.Traces.
	Trace int
	// TraceDir, when set, receives each traced visit's raw trace, every
	// process and thread with the network service's log, as a JSON file
	// that Perfetto or chrome://tracing opens.
	TraceDir string
	// Throttle names a network profile (networkProfiles) applied to every
	// request of the timed visits; "" for none (loopback as it is).
	Throttle string
	// NoBrowser and NoLoad skip the time-to-banner and the load parts.
	NoBrowser, NoLoad bool
	// ServerLog receives the Crumb server's internal errors (default
	// os.Stderr).
	ServerLog io.Writer
}

func (o *Options) defaults() error {
	if len(o.Libs) == 0 {
		o.Libs = slices.Clone(allLibs)
	}
	for _, l := range o.Libs {
		if !knownLib(l) {
			return fmt.Errorf("unknown library %q (want some of %s, or %s, %s)", l, strings.Join(allLibs, ","), libFloor, libFloorSync)
		}
	}
	if _, err := networkProfile(o.Throttle); err != nil {
		return err
	}
	if o.Runs <= 0 {
		o.Runs = 20
	}
	if o.WarmupRuns == 0 {
		o.WarmupRuns = 1
	}
	o.WarmupRuns = max(o.WarmupRuns, 0)
	if o.VisitTimeout <= 0 {
		o.VisitTimeout = 15 * time.Second
	}
	if o.LoadClients <= 0 {
		o.LoadClients = 64
	}
	if o.LoadDuration <= 0 {
		o.LoadDuration = 5 * time.Second
	}
	if o.LoadWarmup <= 0 {
		o.LoadWarmup = 500 * time.Millisecond
	}
	if o.ColdMisses <= 0 {
		o.ColdMisses = 20
	}
	if o.ServerLog == nil {
		o.ServerLog = os.Stderr
	}
	return nil
}

// Report is one run's figures.
type Report struct {
	GoVersion  string       `json:"go"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	Browser    string       `json:"browser,omitempty"` // the user agent
	Runs       int          `json:"runs"`
	WarmupRuns int          `json:"warmup_runs"`
	Network    string       `json:"network,omitempty"` // the -throttle profile, if any
	Sizes      []Size       `json:"sizes"`
	Timings    []Timing     `json:"timings,omitempty"`
	Load       []LoadResult `json:"load,omitempty"`
	// Breakdowns (with -trace) say where each library's time went;
	// Traces hold the last traced visit of each.
	Breakdowns []Breakdown `json:"breakdowns,omitempty"`
	Traces     []*Trace    `json:"traces,omitempty"`
	// LoadRatio is widget.js req/s over the baseline's, LoadP99Ratio the
	// same for p99.
	LoadRatio float64 `json:"load_rps_ratio,omitempty"`
	// Cold is widget.js on cache misses (with the load part).
	Cold         *Cold   `json:"cold,omitempty"`
	LoadP99Ratio float64 `json:"load_p99_ratio,omitempty"`
	Goal         Goal    `json:"goal"`
	// Failures names every library whose banner did not appear in some
	// visit; the tool then exits with status 1.
	Failures []string `json:"failures,omitempty"`
}

// Goal is issue 3's size and speed targets.
type Goal struct {
	GzipBytes int  `json:"gzip_bytes"` // Crumb's widget.js gzip'd, as served
	Size      bool `json:"size"`       // GzipBytes ≤ 8192
	// TimeRatio is Crumb's net median time to banner over
	// vanilla-cookieconsent's; Time is TimeRatio ≤ 0.5. Zero and false when
	// either was not measured.
	TimeRatio float64 `json:"time_ratio,omitempty"`
	Time      bool    `json:"time"`
	// PaintedRatio is the same ratio for the net time to the first frame
	// after the banner (no goal; shown beside it).
	PaintedRatio float64 `json:"painted_ratio,omitempty"`
}

// sizeBudget is issue 3's goal for Crumb's widget.js, gzip'd.
const sizeBudget = 8192

func (r *Report) timing(lib string) (Timing, bool) {
	for _, t := range r.Timings {
		if t.Library == lib {
			return t, true
		}
	}
	return Timing{}, false
}

// run starts the servers, measures sizes, times to banner and the widget
// endpoint's throughput, and returns the report. It returns an error when a
// part could not be measured at all; banners that did not appear are in
// Report.Failures.
func run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), Runs: opts.Runs, WarmupRuns: opts.WarmupRuns}
	crumb, err := startCrumb(realserver.ErrorLogger(opts.ServerLog))
	if err != nil {
		return nil, err
	}
	defer crumb.Close()
	st, err := startStatic()
	if err != nil {
		return nil, err
	}
	defer st.Close()

	// Sizes, and each library's page.
	targets := []target{{name: libEmpty, url: emptyPage(st), empty: true}}
	modules := findModules(opts.Modules)
	for _, name := range opts.Libs {
		if name == libCrumb {
			s, err := crumbSize(ctx, crumb)
			if err != nil {
				return rep, err
			}
			rep.Sizes = append(rep.Sizes, s)
			rep.Goal.GzipBytes, rep.Goal.Size = s.Gzip, s.Gzip <= sizeBudget
			targets = append(targets, target{name: libCrumb, url: crumbPage(st, crumb), script: "widget.js"})
			continue
		}
		if name == libFloor || name == libFloorSync {
			targets = append(targets, target{name: name, url: floorPage(st, name), script: name + ".js"})
			continue
		}
		l, err := loadNPM(st, modules, name)
		if err != nil {
			return rep, err
		}
		rep.Sizes = append(rep.Sizes, npmSize(l))
		targets = append(targets, target{name: name, url: l.pageURL, script: l.script})
	}

	if !opts.NoBrowser {
		path := chromiumPath(opts.Chromium)
		if path == "" {
			return rep, ErrNoChromium
		}
		b, err := startBrowser(path)
		if err != nil {
			return rep, err
		}
		b.throttle, _ = networkProfile(opts.Throttle) // checked by defaults
		rep.Network = opts.Throttle
		rep.Browser = b.UserAgent
		rep.Timings, err = timeToBanner(ctx, b, targets, opts.Runs, opts.WarmupRuns, opts.VisitTimeout)
		if err == nil && opts.Trace > 0 {
			err = traceAll(ctx, b, targets[1:], opts, rep)
		}
		b.Close()
		if err != nil {
			return rep, fmt.Errorf("time to banner: %w", err)
		}
		for _, t := range rep.Timings {
			if t.Failed > 0 {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s: no banner in %d of %d visits (%s)", t.Library, t.Failed, t.Runs, strings.Join(t.Errors, "; ")))
			}
		}
		c, okC := rep.timing(libCrumb)
		v, okV := rep.timing(libVanilla)
		if okC && okV && v.NetMedian > 0 && len(c.net) > 0 {
			rep.Goal.TimeRatio = c.NetMedian / v.NetMedian
			rep.Goal.Time = rep.Goal.TimeRatio <= 0.5
			if v.NetPaintedMedian > 0 {
				rep.Goal.PaintedRatio = c.NetPaintedMedian / v.NetPaintedMedian
			}
		}
	}

	if !opts.NoLoad && slices.Contains(opts.Libs, libCrumb) {
		base, err := realserver.StartBaseline()
		if err != nil {
			return rep, err
		}
		defer base.Close()
		hdr := [][2]string{{"Accept-Encoding", "br"}, {"Accept-Language", "en-US,en;q=0.9"}}
		rep.Load = driveInterleaved(ctx, []loadSpec{{
			target: "crumb", addr: crumb.Addr, path: crumb.widgetPath(), header: hdr,
			clients: opts.LoadClients, warmup: opts.LoadWarmup, dur: opts.LoadDuration,
			check: func(resp *fasthttp.Response) error {
				if enc := string(resp.Header.ContentEncoding()); enc != "br" || len(resp.Body()) == 0 {
					return fmt.Errorf("widget.js: Content-Encoding %q, %d bytes", enc, len(resp.Body()))
				}
				return nil
			},
		}, {
			target: "baseline", addr: base.Addr, path: "/v1/proof/x", header: hdr,
			clients: opts.LoadClients, warmup: opts.LoadWarmup, dur: opts.LoadDuration,
		}}, loadSlices(opts.LoadDuration))
		if b := rep.Load[1]; b.RPS > 0 && b.P99 > 0 {
			rep.LoadRatio, rep.LoadP99Ratio = rep.Load[0].RPS/b.RPS, rep.Load[0].P99/b.P99
		}
		for _, l := range rep.Load {
			if l.Errors > 0 {
				return rep, fmt.Errorf("load on %s: %d requests failed, first: %s", l.Path, l.Errors, l.FirstError)
			}
		}
		cold, err := coldWidget(ctx, crumb, opts.ColdMisses, opts.LoadClients)
		if err != nil {
			return rep, err
		}
		rep.Cold = &cold
	}
	return rep, ctx.Err()
}

// loadSlices is how many turns the load's targets take: one per second of
// the window, at least one.
func loadSlices(d time.Duration) int { return max(1, int(d/time.Second)) }

// traceAll makes opts.Trace traced visits of each target, interleaved.
func traceAll(ctx context.Context, b *browser, targets []target, opts Options, rep *Report) error {
	trs := make([][]*Trace, len(targets))
	for range opts.Trace {
		for i, t := range targets {
			tr, err := b.traceVisit(ctx, t, 2*opts.VisitTimeout, opts.TraceDir)
			if err != nil {
				return fmt.Errorf("trace %s: %w", t.name, err)
			}
			trs[i] = append(trs[i], tr)
		}
	}
	for i, t := range targets {
		rep.Breakdowns = append(rep.Breakdowns, breakdown(t.name, t.script, trs[i]))
		rep.Traces = append(rep.Traces, trs[i][len(trs[i])-1])
	}
	return nil
}

// WriteTable prints the report as plain tables.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "widgetcompare: %s, GOMAXPROCS %d\n", r.GoVersion, r.GOMAXPROCS)
	if r.Browser != "" {
		fmt.Fprintf(w, "browser: %s\n", r.Browser)
	}
	fmt.Fprintf(w, "\nsize: JS+CSS as served (crumb: widget.js from the real server; others: their files, gzip -9 / brotli 11)\n")
	fmt.Fprintf(w, "%-22s %-15s %9s %8s %8s  %s\n", "library", "version", "raw B", "gzip B", "br B", "files")
	for _, s := range r.Sizes {
		fmt.Fprintf(w, "%-22s %-15s %9d %8d %8d  %s\n", s.Library, s.Version, s.Raw, s.Gzip, s.Brotli, strings.Join(s.Files, " + "))
	}
	if len(r.Timings) > 0 {
		link := "loopback"
		if r.Network != "" {
			c := networkProfiles[r.Network]
			link = fmt.Sprintf("loopback throttled to %s: %.1f ms a request, %.0f KB/s down", r.Network, c.Latency, c.DownloadThroughput/1000)
		}
		fmt.Fprintf(w, "\ntime to banner, ms from navigation start (headless Chromium, %s, fresh browser context per visit;\n"+
			"%d runs per page after %d warm-up round(s), interleaved; in DOM = the banner element is in the DOM;\n"+
			"painted = the end of the next frame; empty = the page without a library, to DOMContentLoaded;\n"+
			"net = the visit minus the same round's empty page; files = when the first was requested and the last was in)\n", link, r.Runs, r.WarmupRuns)
		fmt.Fprintf(w, "%-22s %9s %8s %8s %8s %8s %8s %7s %8s %8s %7s\n", "", "in DOM", "", "net", "", "painted", "net", "", "files", "files", "")
		fmt.Fprintf(w, "%-22s %9s %8s %8s %8s %8s %8s %7s %8s %8s %7s\n", "page", "median", "p90", "median", "p90", "median", "median", "DCL", "start", "in", "failed")
		for _, t := range r.Timings {
			net, net90, netP := fmt.Sprintf("%.1f", t.NetMedian), fmt.Sprintf("%.1f", t.NetP90), fmt.Sprintf("%.1f", t.NetPaintedMedian)
			if t.Library == libEmpty {
				net, net90, netP = "-", "-", "-"
			}
			fmt.Fprintf(w, "%-22s %9.1f %8.1f %8s %8s %8.1f %8s %7.1f %8.1f %8.1f %7d\n", t.Library, t.Median, t.P90, net, net90,
				t.PaintedMedian, netP, t.ReadyMedian, t.FetchStartMedian, t.FetchedMedian, t.Failed)
		}
	}
	if len(r.Breakdowns) > 0 {
		fmt.Fprintf(w, "\nwhere the time goes: %d traced visits per library (tracing slows the page), medians in ms since navigation start;\n"+
			"wait = script start - files in; cpu = the main thread's CPU time in eval (less IPC waits and descheduling);\n"+
			"js cpu = the main thread's CPU time in all JavaScript before the banner (library files, inline scripts, callbacks);\n"+
			"style+layout = on the main thread from the script's start to the banner\n", r.Breakdowns[0].Visits)
		fmt.Fprintf(w, "%-22s %-22s %8s %8s %6s %6s %6s %6s %8s %6s %8s %8s\n", "library", "script", "files in", "start", "wait", "eval", "cpu", "js cpu", "st+lay", "css", "banner", "painted")
		for _, b := range r.Breakdowns {
			fmt.Fprintf(w, "%-22s %-22s %8.1f %8.1f %6.1f %6.1f %6.1f %6.1f %8.1f %6.1f %8.1f %8.1f\n", b.Library, b.Script, b.FilesIn, b.ScriptStart, b.Wait, b.Eval, b.EvalCPU, b.ScriptCPU, b.StyleLayout, b.CSSParse, b.Banner, b.Painted)
		}
		for _, tr := range r.Traces {
			tr.Write(w, 1, 6)
		}
	}
	if len(r.Load) > 0 {
		fmt.Fprintf(w, "\nrequests/s: closed loop, keep-alive (fasthttp), Accept-Encoding: br, Accept-Language: en-US;\n"+
			"the targets take turns, one second each, over %.0f s each\n", r.Load[0].Seconds)
		fmt.Fprintf(w, "%-9s %-44s %8s %10s %8s %8s %7s\n", "target", "path", "clients", "req/s", "p50 ms", "p99 ms", "errors")
		for _, l := range r.Load {
			fmt.Fprintf(w, "%-9s %-44s %8d %10.0f %8.2f %8.2f %7d\n", l.Target, l.Path, l.Clients, l.RPS, l.P50, l.P99, l.Errors)
		}
		fmt.Fprintf(w, "crumb/baseline: req/s %.2f×, p99 %.2f×\n", r.LoadRatio, r.LoadP99Ratio)
	}
	if c := r.Cold; c != nil {
		fmt.Fprintf(w, "widget.js cache misses (a language list not asked for before: render + gzip 9 + brotli 11 on the request path):\n"+
			"  %d sequential misses: p50 %.1f ms, max %.1f ms, %.1f ms CPU each (the same requests cached: p50 %.2f ms)\n"+
			"  %d concurrent requests for one new list: all answered after %.0f ms, p50 %.0f ms, %d failed;\n"+
			"  %.0f ms CPU = %.1f× one miss's\n",
			c.Misses, c.MissP50, c.MissMax, c.MissCPU, c.HitP50, c.Burst, c.BurstAll, c.BurstP50, c.BurstErrors,
			c.BurstCPU, div(c.BurstCPU, c.MissCPU))
	}
	fmt.Fprintf(w, "\ngoal (issue 3): gzip ≤ %d B: %s (%d B)", sizeBudget, yes(r.Goal.Size), r.Goal.GzipBytes)
	if r.Goal.TimeRatio > 0 {
		fmt.Fprintf(w, "; net time to banner in DOM ≤ ½ vanilla-cookieconsent's: %s (%.2f×; painted: %.2f×)", yes(r.Goal.Time), r.Goal.TimeRatio, r.Goal.PaintedRatio)
	}
	fmt.Fprintln(w)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAILED %s\n", f)
	}
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func main() {
	var opts Options
	var libs string
	var asJSON bool
	flag.StringVar(&libs, "libs", strings.Join(allLibs, ","), "libraries to compare, comma-separated; also "+libFloor+" and "+libFloorSync+": the least any widget can cost")
	flag.StringVar(&opts.Modules, "modules", "", "node_modules `dir` with the npm libraries (default ./node_modules or ./bench/widgetcompare/node_modules)")
	flag.IntVar(&opts.Runs, "n", 20, "timed visits per page")
	flag.IntVar(&opts.WarmupRuns, "warmup", 1, "warm-up rounds before the timed ones (not counted; 0 for none)")
	flag.StringVar(&opts.Chromium, "chromium", "", "browser `binary` (default $CRUMB_CHROMIUM, /usr/bin/chromium, …)")
	flag.DurationVar(&opts.VisitTimeout, "visit-timeout", 15*time.Second, "bound on one visit (navigation and banner)")
	flag.IntVar(&opts.LoadClients, "c", 64, "closed-loop clients on the widget endpoint")
	flag.DurationVar(&opts.LoadDuration, "d", 5*time.Second, "measured load window per target")
	flag.IntVar(&opts.Trace, "trace", 0, "after the timed visits, `n` traced visits per library: where the time goes")
	flag.StringVar(&opts.TraceDir, "trace-dir", "", "with -trace, write each traced visit's whole trace (all processes) to `dir`")
	flag.StringVar(&opts.Throttle, "throttle", "", "network `profile` for the timed visits: slow4g or 3g (DevTools' throttling; default none)")
	flag.BoolVar(&opts.NoBrowser, "no-browser", false, "skip the time to banner")
	flag.BoolVar(&opts.NoLoad, "no-load", false, "skip the requests/s part")
	flag.BoolVar(&asJSON, "json", false, "print the report as JSON")
	flag.Parse()
	if flag.NArg() > 0 || opts.Runs <= 0 || opts.LoadClients <= 0 || opts.LoadDuration <= 0 ||
		(opts.TraceDir != "" && opts.Trace <= 0) {
		flag.Usage()
		os.Exit(2)
	}
	opts.Libs = strings.Split(libs, ",")
	if opts.WarmupRuns == 0 {
		opts.WarmupRuns = -1 // none; Options treats 0 as the default
	}
	if err := opts.defaults(); err != nil {
		fmt.Fprintln(os.Stderr, "widgetcompare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep, err := run(ctx, opts)
	if rep != nil {
		loadstat.Print(os.Stdout, rep, asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "widgetcompare:", err)
		if errors.Is(err, ErrNoModules) || errors.Is(err, ErrNoChromium) {
			os.Exit(2)
		}
		os.Exit(1)
	}
	if len(rep.Failures) > 0 {
		for _, f := range rep.Failures {
			fmt.Fprintln(os.Stderr, "widgetcompare: banner missing:", f)
		}
		os.Exit(1)
	}
}
