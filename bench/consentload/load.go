package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/loadstat"
	"github.com/valyala/fasthttp"
)

// PhaseResult is what one target measured in one phase.
type PhaseResult struct {
	Target   string  `json:"target"`
	Phase    string  `json:"phase"`
	Clients  int     `json:"clients"`
	Rounds   int     `json:"rounds"`   // measurement slices, alternated with the other target
	Seconds  float64 `json:"seconds"`  // measured time, all slices together
	Requests int64   `json:"requests"` // completed OK inside the window
	RPS      float64 `json:"req_per_s"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// CPUCores is the process's CPU time (user+system, server and
	// generator together) over the window, in cores: well under
	// GOMAXPROCS means it waited on something else, disk or other
	// processes. CPUPerReq is that CPU time per counted request, in µs;
	// it depends much less on what else runs on the machine than req/s.
	CPUCores  float64 `json:"cpu_cores"`
	CPUPerReq float64 `json:"cpu_us_per_req"`
	// Errors counts failed requests over the whole phase, warm-up included.
	Errors int64 `json:"errors"`
	// ErrorSamples holds up to maxErrorKinds distinct error messages with
	// how often each occurred.
	ErrorSamples map[string]int64 `json:"error_samples,omitempty"`
}

// maxErrorKinds bounds the distinct error messages kept per phase.
const maxErrorKinds = 16

// load describes one phase's requests against one target.
type load struct {
	target, phase string
	client        *fasthttp.HostClient
	clients       int
	warmup, dur   time.Duration
	// prepare fills req for worker w's seq-th request. It must set the
	// method, URI and body; the Host header is set by drive.
	prepare func(w int, seq uint64, req *fasthttp.Request)
	// check inspects a 2xx answer; an error counts the request as failed.
	// It may keep data of the body (copied: the body is reused).
	check func(w int, body []byte) error
	// window, when set, is called as the measurement window opens (true)
	// and closes (false).
	window func(open bool)
	// seq0 is added to each worker's request counter, so that the slices
	// of several rounds make distinct requests.
	seq0 uint64
}

// workerStats are one worker's counts; each worker owns its own, so the
// hot loop takes no locks.
type workerStats struct {
	lat    []time.Duration
	errors int64
	msgs   map[string]int64
}

// slice is what one drive measured: raw, so that the slices of several
// rounds can be summarised together.
type slice struct {
	lat     []time.Duration // of the requests counted in the window
	errors  int64
	msgs    map[string]int64
	seconds float64       // window length
	cpu     time.Duration // process CPU time during the window
}

// drive runs the closed loop: l.clients workers, each sending one request
// at a time until the window closes (or ctx ends), then waits for all of
// them. It is bounded in time by warmup+dur plus one request timeout.
func drive(ctx context.Context, l load) slice {
	start := time.Now()
	open := start.Add(l.warmup)
	end := open.Add(l.dur)

	// The window marks fire on time even when the workers finish first
	// (they stop only once the window has closed, or when ctx ends).
	var windowWG sync.WaitGroup
	var cpuOpen, cpuClose time.Duration
	windowWG.Add(1)
	go func() {
		defer windowWG.Done()
		opened := false
		for _, m := range []struct {
			at   time.Time
			open bool
		}{{open, true}, {end, false}} {
			select {
			case <-time.After(time.Until(m.at)):
			case <-ctx.Done():
				if opened && l.window != nil {
					l.window(false) // stop what the opening started
				}
				return
			}
			if m.open {
				opened = true
				cpuOpen = loadstat.ProcessCPU()
			} else {
				cpuClose = loadstat.ProcessCPU()
			}
			if l.window != nil {
				l.window(m.open)
			}
		}
	}()

	stats := make([]workerStats, l.clients)
	var wg sync.WaitGroup
	var stopped atomic.Bool
	for w := 0; w < l.clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &stats[w]
			st.lat = make([]time.Duration, 0, 1024)
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for seq := uint64(0); ; seq++ {
				if stopped.Load() || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if !t0.Before(end) {
					stopped.Store(true)
					return
				}
				req.Reset()
				req.Header.SetHost(l.client.Addr)
				l.prepare(w, l.seq0+seq, req)
				err := l.client.Do(req, resp)
				t1 := time.Now()
				if err == nil {
					if code := resp.StatusCode(); code < 200 || code > 299 {
						err = fmt.Errorf("status %d: %s", code, truncate(resp.Body(), 160))
					} else if l.check != nil {
						err = l.check(w, resp.Body())
					}
				}
				if err != nil {
					st.errors++
					if st.msgs == nil {
						st.msgs = map[string]int64{}
					}
					msg := err.Error()
					if _, ok := st.msgs[msg]; ok || len(st.msgs) < maxErrorKinds {
						st.msgs[msg]++
					}
					continue
				}
				if !t1.Before(open) && t1.Before(end) {
					st.lat = append(st.lat, t1.Sub(t0))
				}
			}
		}()
	}
	wg.Wait()
	windowWG.Wait()

	sl := slice{seconds: l.dur.Seconds()}
	// A window cut short by ctx is measured over the time it really ran.
	if now := time.Now(); now.Before(end) && now.After(open) {
		sl.seconds = now.Sub(open).Seconds()
	}
	if cpuClose > cpuOpen {
		sl.cpu = cpuClose - cpuOpen
	}
	for i := range stats {
		sl.lat = append(sl.lat, stats[i].lat...)
		sl.errors += stats[i].errors
		sl.msgs = mergeErrors(sl.msgs, stats[i].msgs)
	}
	return sl
}

// mergeErrors adds the counts of src to dst, keeping at most maxErrorKinds
// messages.
func mergeErrors(dst, src map[string]int64) map[string]int64 {
	for msg, n := range src {
		if dst == nil {
			dst = map[string]int64{}
		}
		if _, ok := dst[msg]; ok || len(dst) < maxErrorKinds {
			dst[msg] += n
		}
	}
	return dst
}

// summarize turns the slices one target measured in one phase into figures.
func summarize(target, phase string, clients int, parts []slice) PhaseResult {
	res := PhaseResult{Target: target, Phase: phase, Clients: clients, Rounds: len(parts)}
	var all []time.Duration
	var cpu time.Duration
	for _, sl := range parts {
		all = append(all, sl.lat...)
		res.Errors += sl.errors
		res.ErrorSamples = mergeErrors(res.ErrorSamples, sl.msgs)
		res.Seconds += sl.seconds
		cpu += sl.cpu
	}
	res.Requests = int64(len(all))
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
		res.CPUCores = cpu.Seconds() / res.Seconds
	}
	if res.Requests > 0 {
		res.CPUPerReq = float64(cpu.Microseconds()) / float64(res.Requests)
	}
	slices.Sort(all)
	res.P50 = loadstat.MS(loadstat.Percentile(all, 0.50))
	res.P90 = loadstat.MS(loadstat.Percentile(all, 0.90))
	res.P99 = loadstat.MS(loadstat.Percentile(all, 0.99))
	if len(all) > 0 {
		res.Max = loadstat.MS(all[len(all)-1])
	}
	return res
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// consentBody appends a valid POST /v1/consent body to dst. Each request
// gets its own nonce (prefix-worker-seq; none when noncePrefix is "") and
// one of four state variants.
func consentBody(dst []byte, site, version, noncePrefix string, w int, seq uint64) []byte {
	type variant struct {
		method                             string
		preferences, statistics, marketing bool
	}
	variants := [...]variant{
		{"accept_all", true, true, true},
		{"reject_all", false, false, false},
		{"custom", false, true, false},
		{"gpc", true, true, false},
	}
	v := variants[(uint64(w)+seq)%uint64(len(variants))]
	dst = append(dst, `{"site":"`...)
	dst = append(dst, site...)
	dst = append(dst, `","url":"https://shop.example/products/`...)
	dst = strconv.AppendUint(dst, seq%100, 10)
	dst = append(dst, `","state":{"necessary":true,"preferences":`...)
	dst = strconv.AppendBool(dst, v.preferences)
	dst = append(dst, `,"statistics":`...)
	dst = strconv.AppendBool(dst, v.statistics)
	dst = append(dst, `,"marketing":`...)
	dst = strconv.AppendBool(dst, v.marketing)
	dst = append(dst, `},"method":"`...)
	dst = append(dst, v.method...)
	dst = append(dst, `","version":"`...)
	dst = append(dst, version...)
	if noncePrefix == "" {
		return append(dst, `"}`...)
	}
	dst = append(dst, `","nonce":"`...)
	dst = append(dst, noncePrefix...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(w), 36)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, seq, 36)
	dst = append(dst, `"}`...)
	return dst
}

// idCollector keeps the consent ids a target returned, per worker, up to a
// bound, for the proof phase.
type idCollector struct {
	perWorker [][]string
	limit     int // per worker
}

func newIDCollector(workers, total int) *idCollector {
	return &idCollector{perWorker: make([][]string, workers), limit: max(1, total/workers)}
}

// check extracts "id" from a consent answer.
func (c *idCollector) check(w int, body []byte) error {
	id, ok := jsonStringField(body, idKey)
	if !ok {
		return fmt.Errorf("answer without an id: %s", truncate(body, 160))
	}
	if len(c.perWorker[w]) < c.limit {
		c.perWorker[w] = append(c.perWorker[w], id)
	}
	return nil
}

// ids returns the collected ids, interleaved across workers.
func (c *idCollector) ids() []string {
	var out []string
	for i := 0; ; i++ {
		added := false
		for _, ws := range c.perWorker {
			if i < len(ws) {
				out = append(out, ws[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// jsonStringField finds key (like `"id":"`) in a compact JSON object and
// returns the string after it; the ids Crumb hands out need no unescaping.
func jsonStringField(body, key []byte) (string, bool) {
	i := bytes.Index(body, key)
	if i < 0 {
		return "", false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

var idKey = []byte(`"id":"`)

// sortedErrors lists an error sample map most frequent first.
func sortedErrors(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
