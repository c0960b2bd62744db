package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// traceEvent is one Chrome trace event (the JSON trace format).
type traceEvent struct {
	Name string          `json:"name"`
	Cat  string          `json:"cat"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`   // µs
	Dur  float64         `json:"dur"`  // µs, for ph "X"
	Tdur float64         `json:"tdur"` // µs of the thread's CPU time, for ph "X" where known
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Args json.RawMessage `json:"args"`
}

// traceCategories are what DevTools' performance panel records, less the
// screenshots: main-thread tasks, parsing, script compile and run, style,
// layout and paint.
var traceCategories = []string{
	"devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute",
	"blink.user_timing", "loading", "toplevel",
}

// rawTraceCategories are added for -trace-dir: everything enabled by
// default, and the network service's log (request scheduling, sockets,
// cache), which is what shows where a subresource's time goes before its
// bytes reach the renderer.
var rawTraceCategories = []string{"*", "disabled-by-default-network", "disabled-by-default-loading"}

// writeRawTrace writes one visit's trace events as a JSON array to a new
// file in dir named after the library.
func writeRawTrace(dir, lib string, chunks [][]byte) error {
	f, err := os.CreateTemp(dir, lib+"-*.json")
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	w := bufio.NewWriter(f)
	w.WriteByte('[')
	for i, c := range chunks {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(c)
	}
	w.WriteByte(']')
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("trace: write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trace: write %s: %w", f.Name(), err)
	}
	return nil
}

// Span is one main-thread slice of a traced visit, in ms since navigation
// start, with the slices nested in it.
type Span struct {
	Name   string  `json:"name"`
	Detail string  `json:"detail,omitempty"` // the script URL, …
	Start  float64 `json:"start_ms"`
	Dur    float64 `json:"dur_ms"`
	// CPU is the thread's CPU time in the slice: the wall time less what the
	// thread spent waiting (a synchronous IPC, or descheduled on a loaded
	// machine), so it moves far less with the machine's load than Dur.
	CPU  float64 `json:"cpu_ms,omitempty"`
	Kids []Span  `json:"kids,omitempty"`
}

// Trace is one traced visit: the marks and the renderer main thread's
// slices from navigation start to the banner.
type Trace struct {
	Library string  `json:"library"`
	Banner  float64 `json:"banner_ms"`
	Ready   float64 `json:"dcl_ms"`
	Painted float64 `json:"painted_ms"`
	Fetched float64 `json:"fetched_ms"`
	// Busy is the main thread's time in top-level slices before the
	// banner; the rest of the time it waited (network, other processes).
	Busy  float64 `json:"busy_ms"`
	Spans []Span  `json:"spans"`
}

// traceVisit is visit with Chrome tracing on: it returns the renderer main
// thread's slices between navigation start and the banner. Tracing slows
// the page down; its times are for finding where time goes, not for the
// comparison.
//
// With dir set, the trace records every process and thread, the network
// service's log included, and is also written to dir as
// <library>-<n>.json.
func (b *browser) traceVisit(ctx context.Context, t target, timeout time.Duration, dir string) (*Trace, error) {
	tctx, closeTab := b.freshTab(ctx, timeout)
	defer closeTab()
	if err := chromedp.Do(tctx); err != nil { // opens the tab
		return nil, err
	}
	var (
		mu     sync.Mutex
		chunks [][]byte
		done   = make(chan struct{})
		once   sync.Once
	)
	if err := chromedp.ListenBrowser(tctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range ev.Value {
				chunks = append(chunks, slices.Clone([]byte(v)))
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			once.Do(func() { close(done) })
		}
	}); err != nil {
		return nil, err
	}
	categories := traceCategories
	if dir != "" {
		categories = append(slices.Clip(categories), rawTraceCategories...)
	}
	if _, err := chromedp.CallBrowser(tctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: categories},
	}); err != nil {
		return nil, fmt.Errorf("trace: start: %w", err)
	}
	m, err := b.visitIn(tctx, t, timeout)
	if _, endErr := chromedp.CallBrowser(tctx, tracing.End, cdp.Empty{}); endErr != nil && err == nil {
		err = fmt.Errorf("trace: end: %w", endErr)
	}
	if err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-tctx.Done():
		return nil, fmt.Errorf("trace: waiting for the trace: %w", tctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		if err := writeRawTrace(dir, t.name, chunks); err != nil {
			return nil, err
		}
	}
	evs := make([]traceEvent, 0, len(chunks))
	for _, c := range chunks {
		var e traceEvent
		if json.Unmarshal(c, &e) == nil {
			evs = append(evs, e)
		}
	}
	return analyse(t, m, evs)
}

// analyse finds the page's navigation start on its renderer main thread and
// nests that thread's complete slices up to the banner.
func analyse(t target, m marks, evs []traceEvent) (*Trace, error) {
	tr := &Trace{Library: t.name, Banner: m.Banner, Ready: m.Ready, Painted: m.Painted, Fetched: m.Fetched}
	var nav *traceEvent
	for i, e := range evs {
		if e.Name != "navigationStart" {
			continue
		}
		var a struct {
			Data struct {
				URL string `json:"documentLoaderURL"`
			} `json:"data"`
		}
		if json.Unmarshal(e.Args, &a) == nil && a.Data.URL == t.url {
			nav = &evs[i]
		}
	}
	if nav == nil {
		return nil, errors.New("trace: no navigationStart for the page")
	}
	end := m.Banner
	if t.empty {
		end = m.Ready
	}
	t0, t1 := nav.Ts, nav.Ts+end*1000+1000 // 1 ms past the mark: its own task
	var xs []traceEvent
	for _, e := range evs {
		if e.Ph == "X" && e.Pid == nav.Pid && e.Tid == nav.Tid && e.Ts >= t0 && e.Ts < t1 {
			xs = append(xs, e)
		}
	}
	// Outer slices first: by start, then longest.
	slices.SortFunc(xs, func(a, b traceEvent) int {
		if a.Ts != b.Ts {
			return cmpF(a.Ts, b.Ts)
		}
		return cmpF(b.Dur, a.Dur)
	})
	var stack []*Span
	var ends []float64
	root := &Span{}
	for _, e := range xs {
		for len(stack) > 0 && e.Ts >= ends[len(ends)-1] {
			stack, ends = stack[:len(stack)-1], ends[:len(ends)-1]
		}
		parent := root
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		parent.Kids = append(parent.Kids, Span{Name: e.Name, Detail: detail(e), Start: (e.Ts - t0) / 1000, Dur: e.Dur / 1000, CPU: e.Tdur / 1000})
		stack = append(stack, &parent.Kids[len(parent.Kids)-1])
		ends = append(ends, e.Ts+e.Dur)
	}
	tr.Spans = root.Kids
	for _, s := range tr.Spans {
		tr.Busy += s.Dur
	}
	return tr, nil
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// detail is what names a slice's subject: a script's URL, a parse's lines.
func detail(e traceEvent) string {
	var a struct {
		Data struct {
			URL          string `json:"url"`
			FunctionName string `json:"functionName"`
			StyleSheet   string `json:"styleSheetUrl"`
			ElementCount int    `json:"elementCount"`
		} `json:"data"`
		BeginData struct {
			URL string `json:"url"`
		} `json:"beginData"`
		FileName string `json:"fileName"`
	}
	if json.Unmarshal(e.Args, &a) != nil {
		return ""
	}
	var parts []string
	for _, s := range []string{a.Data.URL, a.BeginData.URL, a.FileName, a.Data.StyleSheet} {
		if s != "" {
			if i := strings.LastIndexByte(s, '/'); i >= 0 && i < len(s)-1 {
				s = s[i+1:]
			}
			parts = append(parts, s)
			break
		}
	}
	if a.Data.FunctionName != "" {
		parts = append(parts, a.Data.FunctionName+"()")
	}
	if a.Data.ElementCount > 0 {
		parts = append(parts, fmt.Sprintf("%d elements", a.Data.ElementCount))
	}
	return strings.Join(parts, " ")
}

// taskWrappers are slices that only say a task ran.
var taskWrappers = map[string]bool{
	"RunTask": true, "ThreadControllerImpl::RunTask": true, "Receive mojo message": true,
	"SimpleWatcher::OnHandleReady": true, "ThreadPool_RunTask": true,
}

// Write prints a traced visit's main thread: slices of at least minMs,
// nested to depth levels.
func (tr *Trace) Write(w io.Writer, minMs float64, depth int) {
	fmt.Fprintf(w, "\n%s (traced, so slower): banner %.1f ms, DOMContentLoaded %.1f ms, files in %.1f ms; main thread busy %.1f ms before the banner\n",
		tr.Library, tr.Banner, tr.Ready, tr.Fetched, tr.Busy)
	fmt.Fprintf(w, "  %8s %8s  %s\n", "start ms", "dur ms", "main-thread slice")
	var walk func(ss []Span, level int)
	walk = func(ss []Span, level int) {
		for _, s := range ss {
			if s.Dur < minMs {
				continue
			}
			if taskWrappers[s.Name] { // the scheduler's frames: show what ran in them
				walk(s.Kids, level)
				continue
			}
			fmt.Fprintf(w, "  %8.1f %8.1f  %s%s %s\n", s.Start, s.Dur, strings.Repeat("  ", level), s.Name, s.Detail)
			if level+1 < depth {
				walk(s.Kids, level+1)
			}
		}
	}
	walk(tr.Spans, 0)
}

// Breakdown is where a library's time went in traced visits, medians in ms
// since navigation start.
type Breakdown struct {
	Library string  `json:"library"`
	Script  string  `json:"script"` // the library's script file
	Visits  int     `json:"visits"`
	FilesIn float64 `json:"files_in_ms"`
	// ScriptStart is when the script's evaluation began on the main thread,
	// Wait the time from its files' arrival to then, Eval its evaluation.
	ScriptStart float64 `json:"script_start_ms"`
	Wait        float64 `json:"wait_ms"`
	Eval        float64 `json:"eval_ms"`
	// EvalCPU is the main thread's CPU time in the evaluation: Eval less the
	// waiting (the first document.cookie read is a synchronous IPC).
	EvalCPU float64 `json:"eval_cpu_ms"`
	// ScriptCPU is the main thread's CPU time in all JavaScript it ran
	// before the banner was in the DOM: the library's files and the page's
	// inline scripts (vanilla-cookieconsent's run() is one), event and timer
	// callbacks. The measuring stamp, the same on every page, is included.
	ScriptCPU float64 `json:"script_cpu_ms"`
	// StyleLayout is style recalculation and layout on the main thread
	// between the script's start and the banner (forced by the library's
	// own code: the page's frames come after the banner or before).
	StyleLayout float64 `json:"style_layout_ms"`
	// CSSParse is stylesheet parsing (ParseAuthorStyleSheet) up to the banner.
	CSSParse float64 `json:"css_parse_ms"`
	Banner   float64 `json:"banner_ms"`
	Painted  float64 `json:"painted_ms"`
}

// walkSpans calls fn for every span, nested ones included.
func walkSpans(ss []Span, fn func(s Span)) {
	for _, s := range ss {
		fn(s)
		walkSpans(s.Kids, fn)
	}
}

// jsSlice names the main-thread slices that run JavaScript.
var jsSlice = map[string]bool{
	"EvaluateScript": true, "FunctionCall": true, "TimerFire": true, "EventDispatch": true,
	"FireAnimationFrame": true, "RunMicrotasks": true, "v8.run": true,
}

// jsCPU sums the CPU time of the outermost JavaScript slices that start
// before the time before (a slice nested in one is already in its time).
func jsCPU(ss []Span, before float64) float64 {
	var sum float64
	for _, s := range ss {
		switch {
		case s.Start >= before:
		case jsSlice[s.Name]:
			sum += s.CPU
		default:
			sum += jsCPU(s.Kids, before)
		}
	}
	return sum
}

// breakdown summarises traced visits of one library.
func breakdown(lib, script string, trs []*Trace) Breakdown {
	b := Breakdown{Library: lib, Script: script, Visits: len(trs)}
	var filesIn, start, wait, eval, evalCPU, scriptCPU, sl, css, banner, painted []float64
	for _, tr := range trs {
		scriptCPU = append(scriptCPU, jsCPU(tr.Spans, tr.Banner))
		st, ev, cpu := -1.0, 0.0, 0.0
		walkSpans(tr.Spans, func(s Span) {
			if st < 0 && s.Name == "EvaluateScript" && strings.HasPrefix(s.Detail, script) {
				st, ev, cpu = s.Start, s.Dur, s.CPU
			}
		})
		var l, c float64
		walkSpans(tr.Spans, func(s Span) {
			switch {
			case (s.Name == "UpdateLayoutTree" || s.Name == "Layout") && st >= 0 && s.Start >= st && s.Start < tr.Banner:
				l += s.Dur
			case s.Name == "ParseAuthorStyleSheet" && s.Start < tr.Banner:
				c += s.Dur
			}
		})
		filesIn, banner, painted = append(filesIn, tr.Fetched), append(banner, tr.Banner), append(painted, tr.Painted)
		css = append(css, c)
		if st >= 0 {
			start, wait, eval, evalCPU, sl = append(start, st), append(wait, st-tr.Fetched), append(eval, ev), append(evalCPU, cpu), append(sl, l)
		}
	}
	b.FilesIn, b.ScriptStart, b.Wait, b.Eval = percentile(filesIn, .5), percentile(start, .5), percentile(wait, .5), percentile(eval, .5)
	b.EvalCPU, b.ScriptCPU = percentile(evalCPU, .5), percentile(scriptCPU, .5)
	b.StyleLayout, b.CSSParse, b.Banner, b.Painted = percentile(sl, .5), percentile(css, .5), percentile(banner, .5), percentile(painted, .5)
	return b
}
