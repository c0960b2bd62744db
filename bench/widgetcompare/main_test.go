package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/loadstat"
)

// testLibs is Crumb, plus the npm libraries when node_modules has them.
func testLibs(t *testing.T) []string {
	libs := []string{libCrumb}
	for _, name := range []string{libVanilla, libKlaro} {
		if _, err := os.Stat(filepath.Join(findModules(""), npmLibs[name].pkg, "package.json")); err != nil {
			t.Logf("%s not in node_modules: skipped (npm install --prefix bench/widgetcompare)", name)
			continue
		}
		libs = append(libs, name)
	}
	return libs
}

func quiet(o Options) Options {
	o.ServerLog = io.Discard
	o.LoadClients, o.LoadDuration, o.LoadWarmup, o.ColdMisses = 4, 200*time.Millisecond, 50*time.Millisecond, 3
	return o
}

// TestSizesAndLoad runs the size part and a short load on the real server:
// figures present and positive, and Crumb's widget.js within issue 3's
// size budget (a size, not a timing).
func TestSizesAndLoad(t *testing.T) {
	libs := testLibs(t)
	rep, err := run(context.Background(), quiet(Options{Libs: libs, NoBrowser: true}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sizes) != len(libs) {
		t.Fatalf("%d sizes for %d libraries", len(rep.Sizes), len(libs))
	}
	for i, s := range rep.Sizes {
		if s.Library != libs[i] || s.Raw <= 0 || s.Gzip <= 0 || s.Brotli <= 0 || s.Gzip >= s.Raw || len(s.Files) == 0 || s.Version == "" {
			t.Errorf("size %+v", s)
		}
	}
	c := rep.Sizes[0]
	if c.Gzip > sizeBudget || !rep.Goal.Size || rep.Goal.GzipBytes != c.Gzip {
		t.Errorf("crumb widget.js is %d bytes gzip'd, over the %d byte budget (goal %+v)", c.Gzip, sizeBudget, rep.Goal)
	}
	if len(rep.Load) != 2 {
		t.Fatalf("%d load results", len(rep.Load))
	}
	for _, l := range rep.Load {
		if l.Requests <= 0 || l.RPS <= 0 || l.P99 <= 0 || l.Errors != 0 {
			t.Errorf("load %+v", l)
		}
	}
	if rep.LoadRatio <= 0 {
		t.Errorf("load ratio %v", rep.LoadRatio)
	}
	if c := rep.Cold; c == nil || c.Misses != 3 || c.MissP50 <= 0 || c.MissCPU <= 0 || c.BurstCPU <= 0 || c.HitP50 <= 0 || c.Burst != 4 || c.BurstAll <= 0 || c.BurstErrors != 0 {
		t.Errorf("cold %+v", c)
	}
	var out bytes.Buffer
	rep.WriteTable(&out)
	for _, want := range []string{"crumb", "gzip ≤ 8192 B: yes", "/v1/proof/x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestTimeToBanner makes one timed visit per page with the code the tool
// runs: every banner appears, every figure is positive.
func TestTimeToBanner(t *testing.T) {
	if chromiumPath("") == "" {
		if os.Getenv("CRUMB_REQUIRE_BROWSER") == "1" {
			t.Fatal("Chromium not found and CRUMB_REQUIRE_BROWSER=1")
		}
		t.Skip("Chromium not found (install chromium or set CRUMB_CHROMIUM): time to banner skipped")
	}
	libs := append(testLibs(t), libFloor, libFloorSync)
	traceDir := t.TempDir()
	rep, err := run(context.Background(), quiet(Options{Libs: libs, Runs: 1, WarmupRuns: -1, NoLoad: true, Trace: 1, TraceDir: traceDir}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("banners missing: %v", rep.Failures)
	}
	if len(rep.Timings) != len(libs)+1 || rep.Timings[0].Library != libEmpty {
		t.Fatalf("timings %+v", rep.Timings)
	}
	for _, tm := range rep.Timings {
		if tm.Runs != 1 || tm.Failed != 0 || tm.Median <= 0 || tm.P90 <= 0 || tm.ReadyMedian <= 0 || tm.PaintedMedian < tm.Median {
			t.Errorf("timing %+v", tm)
		}
		if tm.Library != libEmpty && (len(tm.net) != 1 || tm.FetchedMedian <= 0) {
			t.Errorf("%s: no paired net time or fetch time: %+v", tm.Library, tm)
		}
	}
	if rep.Browser == "" {
		t.Error("no user agent")
	}
	// One traced visit per library: its script found on the main thread.
	if len(rep.Breakdowns) != len(libs) || len(rep.Traces) != len(libs) {
		t.Fatalf("%d breakdowns, %d traces for %d libraries", len(rep.Breakdowns), len(rep.Traces), len(libs))
	}
	for _, b := range rep.Breakdowns {
		if b.Visits != 1 || b.ScriptStart <= 0 || b.Eval <= 0 || b.Banner < b.ScriptStart || b.FilesIn <= 0 {
			t.Errorf("breakdown %+v", b)
		}
	}
	if b := rep.Breakdowns[0]; b.Library != libCrumb || b.Script != "widget.js" {
		t.Errorf("first breakdown %+v", b)
	}
	// -trace-dir: one whole trace per library, from more than the
	// renderer, naming the library's script, with the network log.
	for _, b := range rep.Breakdowns {
		files, _ := filepath.Glob(filepath.Join(traceDir, b.Library+"-[0-9]*.json"))
		if len(files) != 1 {
			t.Errorf("%s: raw traces %v, want one", b.Library, files)
			continue
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		var evs []traceEvent
		if err := json.Unmarshal(raw, &evs); err != nil {
			t.Errorf("%s: raw trace is not a JSON array of events: %v", b.Library, err)
			continue
		}
		pids := map[int]bool{}
		for _, e := range evs {
			pids[e.Pid] = true
		}
		hasScript, hasNetlog := bytes.Contains(raw, []byte(b.Script)), bytes.Contains(raw, []byte(`"cat":"netlog"`))
		if len(pids) < 2 || !hasScript || !hasNetlog {
			t.Errorf("%s: raw trace has %d events from %d processes; names %s: %t; network log: %t",
				b.Library, len(evs), len(pids), b.Script, hasScript, hasNetlog)
		}
	}
}

// TestAnalyse nests a renderer main thread's complete slices from the
// page's navigation start up to the banner, and leaves out other threads,
// other pages and what comes later.
func TestAnalyse(t *testing.T) {
	const url = "http://127.0.0.1:1/crumb.html"
	nav := `{"data":{"documentLoaderURL":"` + url + `"}}`
	evs := []traceEvent{
		{Name: "navigationStart", Ph: "R", Ts: 1000, Pid: 1, Tid: 2, Args: json.RawMessage(`{"data":{"documentLoaderURL":"http://127.0.0.1:1/other.html"}}`)},
		{Name: "navigationStart", Ph: "R", Ts: 10000, Pid: 1, Tid: 2, Args: json.RawMessage(nav)},
		{Name: "RunTask", Ph: "X", Ts: 11000, Dur: 5000, Pid: 1, Tid: 2},
		{Name: "ParseHTML", Ph: "X", Ts: 11500, Dur: 3000, Pid: 1, Tid: 2, Args: json.RawMessage(`{"beginData":{"url":"` + url + `"}}`)},
		{Name: "RunTask", Ph: "X", Ts: 20000, Dur: 8000, Pid: 1, Tid: 2},
		{Name: "EvaluateScript", Ph: "X", Ts: 20100, Dur: 7000, Tdur: 4000, Pid: 1, Tid: 2, Args: json.RawMessage(`{"data":{"url":"http://127.0.0.1:2/v1/sites/s/widget.js"}}`)},
		{Name: "Layout", Ph: "X", Ts: 25000, Dur: 1500, Pid: 1, Tid: 2},
		{Name: "Layout", Ph: "X", Ts: 21000, Dur: 9000, Pid: 1, Tid: 3}, // another thread
		{Name: "Paint", Ph: "X", Ts: 60000, Dur: 1000, Pid: 1, Tid: 2},  // after the banner
	}
	tr, err := analyse(target{name: libCrumb, url: url}, marks{Banner: 18, Painted: 30, Fetched: 9}, evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 2 || tr.Spans[0].Start != 1 || tr.Spans[0].Kids[0].Name != "ParseHTML" || tr.Spans[0].Kids[0].Detail != "crumb.html" {
		t.Fatalf("spans %+v", tr.Spans)
	}
	ev := tr.Spans[1].Kids[0]
	if ev.Name != "EvaluateScript" || ev.Detail != "widget.js" || ev.Start != 10.1 || ev.Dur != 7 || len(ev.Kids) != 1 || ev.Kids[0].Name != "Layout" {
		t.Fatalf("evaluate %+v", ev)
	}
	if tr.Busy != 13 {
		t.Errorf("busy %v, want 13", tr.Busy)
	}
	b := breakdown(libCrumb, "widget.js", []*Trace{tr})
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	if !near(b.ScriptStart, 10.1) || !near(b.Eval, 7) || !near(b.EvalCPU, 4) || !near(b.ScriptCPU, 4) || !near(b.StyleLayout, 1.5) || !near(b.Wait, 1.1) || b.Banner != 18 || b.Painted != 30 {
		t.Errorf("breakdown %+v", b)
	}
	if _, err := analyse(target{name: libCrumb, url: "http://elsewhere/"}, marks{Banner: 18}, evs); err == nil {
		t.Error("a trace without the page's navigation start was analysed")
	}
}

func TestOptionsRefuseUnknownLibrary(t *testing.T) {
	_, err := run(context.Background(), quiet(Options{Libs: []string{"crumb", "cookiebot"}, NoBrowser: true, NoLoad: true}))
	if err == nil || !strings.Contains(err.Error(), `"cookiebot"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestOptionsRefuseUnknownNetworkProfile(t *testing.T) {
	_, err := run(context.Background(), quiet(Options{Libs: []string{"crumb"}, Throttle: "56k", NoBrowser: true, NoLoad: true}))
	if err == nil || !strings.Contains(err.Error(), `"56k"`) || !strings.Contains(err.Error(), "slow4g") {
		t.Fatalf("err = %v", err)
	}
}

// TestThrottledVisit: with -throttle, every request of a visit waits the
// profile's latency, the page's and the widget's alike; the report names the
// profile. (Lower bounds only: they show the throttle is applied, they do
// not time the widget.)
func TestThrottledVisit(t *testing.T) {
	if chromiumPath("") == "" {
		if os.Getenv("CRUMB_REQUIRE_BROWSER") == "1" {
			t.Fatal("Chromium not found and CRUMB_REQUIRE_BROWSER=1")
		}
		t.Skip("Chromium not found (install chromium or set CRUMB_CHROMIUM): throttled visit skipped")
	}
	rep, err := run(context.Background(), quiet(Options{Libs: []string{libCrumb}, Runs: 1, WarmupRuns: -1, NoLoad: true, Throttle: "slow4g"}))
	if err != nil {
		t.Fatal(err)
	}
	latency := networkProfiles["slow4g"].Latency
	if rep.Network != "slow4g" || len(rep.Timings) != 2 {
		t.Fatalf("report: network %q, timings %+v", rep.Network, rep.Timings)
	}
	for _, tm := range rep.Timings {
		if tm.ReadyMedian < latency {
			t.Errorf("%s: DOMContentLoaded at %.1f ms, before one request's latency (%.1f ms)", tm.Library, tm.ReadyMedian, latency)
		}
		if tm.Library == libCrumb && tm.FetchedMedian-tm.FetchStartMedian < latency {
			t.Errorf("widget.js took %.1f ms, less than the profile's latency (%.1f ms)", tm.FetchedMedian-tm.FetchStartMedian, latency)
		}
	}
	var out strings.Builder
	loadstat.Print(&out, rep, false)
	if !strings.Contains(out.String(), "throttled to slow4g") {
		t.Errorf("the report does not name the network:\n%s", out.String())
	}
}

func TestMissingModules(t *testing.T) {
	st, err := startStatic()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := loadNPM(st, t.TempDir(), libVanilla); !errors.Is(err, ErrNoModules) {
		t.Fatalf("err = %v, want ErrNoModules", err)
	}
	if _, err := loadNPM(st, t.TempDir(), "nope"); err == nil || errors.Is(err, ErrNoModules) {
		t.Fatalf("unknown library: err = %v", err)
	}
}

func TestStaticServerEncodings(t *testing.T) {
	st, err := startStatic()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body := []byte(strings.Repeat("window.x = 1;\n", 200))
	a := newAsset("text/javascript", body)
	url := st.addFile("x/x.js", a)
	for _, tc := range []struct {
		accept, enc string
		want        []byte
	}{
		{"", "", a.plain},
		{"identity", "", a.plain},
		{"gzip, deflate", "gzip", a.gz},
		{"gzip, deflate, br, zstd", "br", a.br},
		{"br;q=0, gzip", "gzip", a.gz},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		if tc.accept == "" {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != tc.enc || !bytes.Equal(got, tc.want) {
			t.Errorf("Accept-Encoding %q: status %d, Content-Encoding %q, %d bytes", tc.accept, resp.StatusCode, resp.Header.Get("Content-Encoding"), len(got))
		}
	}
	resp, err := http.Get("http://" + st.cdn + "/lib/missing.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: status %d", resp.StatusCode)
	}
}

func TestAcceptsEncoding(t *testing.T) {
	for _, tc := range []struct {
		header, enc string
		want        bool
	}{
		{"gzip", "gzip", true},
		{"GZIP", "gzip", true},
		{"deflate, gzip;q=0.5", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip; q=0", "gzip", false},
		{"br", "gzip", false},
		{"", "br", false},
		{"xbr", "br", false},
	} {
		if got := acceptsEncoding(tc.header, tc.enc); got != tc.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v", tc.header, tc.enc, got)
		}
	}
}
