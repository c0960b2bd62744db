package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/crumb-consent/crumb/bench/internal/loadstat"
	"github.com/crumb-consent/crumb/widget"
)

// LoadResult is one target's closed-loop run.
type LoadResult struct {
	Target   string  `json:"target"`
	Path     string  `json:"path"`
	Clients  int     `json:"clients"`
	Seconds  float64 `json:"seconds"`
	Requests int64   `json:"requests"` // completed OK inside the window
	RPS      float64 `json:"req_per_s"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Errors   int64   `json:"errors"` // over warm-up and window
	// FirstError is the first failure's message, if any.
	FirstError string `json:"first_error,omitempty"`
}

// loadSpec is one closed-loop run against one server.
type loadSpec struct {
	target, addr, path string
	client             *fasthttp.HostClient // made by drive when nil
	header             [][2]string
	clients            int
	warmup, dur        time.Duration
	// check inspects a 200 answer; an error counts the request as failed.
	check func(resp *fasthttp.Response) error
}

// drive runs spec.clients workers on keep-alive connections, each sending
// one request at a time, for warmup and then dur; requests that complete
// inside the window are counted. It ends within warmup+dur plus one request
// timeout, or when ctx ends.
func drive(ctx context.Context, spec loadSpec) LoadResult {
	res, all := driveRaw(ctx, spec)
	summarise(&res, all)
	return res
}

// newLoadClient is a keep-alive client with one connection per worker.
func newLoadClient(addr string, clients int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  clients,
		MaxConnWaitTimeout:        5 * time.Second,
		ReadTimeout:               5 * time.Second,
		WriteTimeout:              5 * time.Second,
		MaxIdemponentCallAttempts: 1, // a retry would hide a failure
		NoDefaultUserAgentHeader:  true,
	}
}

// driveInterleaved runs the specs in turn, slices times each, every turn
// for 1/slices of each spec's dur (the warm-up only before the first), and
// sums each spec's turns: a load that other processes put on the machine
// for a while then weighs on every target alike.
func driveInterleaved(ctx context.Context, specs []loadSpec, slices int) []LoadResult {
	res := make([]LoadResult, len(specs))
	all := make([][]time.Duration, len(specs))
	for i := range specs {
		if specs[i].client == nil {
			specs[i].client = newLoadClient(specs[i].addr, specs[i].clients)
			defer specs[i].client.CloseIdleConnections()
		}
		res[i] = LoadResult{Target: specs[i].target, Path: specs[i].path, Clients: specs[i].clients}
	}
	for turn := range slices {
		for i, spec := range specs {
			if ctx.Err() != nil {
				break
			}
			if turn > 0 {
				spec.warmup = 0
			}
			spec.dur /= time.Duration(slices)
			r, lats := driveRaw(ctx, spec)
			res[i].Seconds += r.Seconds
			res[i].Errors += r.Errors
			if res[i].FirstError == "" {
				res[i].FirstError = r.FirstError
			}
			all[i] = append(all[i], lats...)
		}
	}
	for i := range res {
		summarise(&res[i], all[i])
	}
	return res
}

// summarise sets the request count, rate and latency percentiles from the
// latencies of the counted requests.
func summarise(res *LoadResult, all []time.Duration) {
	slices.Sort(all)
	res.Requests = int64(len(all))
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
	}
	res.P50, res.P99 = loadstat.MS(loadstat.Percentile(all, 0.50)), loadstat.MS(loadstat.Percentile(all, 0.99))
}

// driveRaw is drive without the summary: the result's window and errors,
// and the latencies of the counted requests.
func driveRaw(ctx context.Context, spec loadSpec) (LoadResult, []time.Duration) {
	client := spec.client
	if client == nil {
		client = newLoadClient(spec.addr, spec.clients)
		defer client.CloseIdleConnections()
	}
	start := time.Now()
	open := start.Add(spec.warmup)
	end := open.Add(spec.dur)

	var (
		wg       sync.WaitGroup
		errs     atomic.Int64
		firstErr sync.Once
		errMsg   string
	)
	lats := make([][]time.Duration, spec.clients)
	for w := range spec.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(spec.path)
			req.Header.SetHost(spec.addr)
			for _, h := range spec.header {
				req.Header.Set(h[0], h[1])
			}
			lat := make([]time.Duration, 0, 4096)
			defer func() { lats[w] = lat }()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := client.Do(req, resp)
				t1 := time.Now()
				if err == nil && resp.StatusCode() != fasthttp.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode())
				}
				if err == nil && spec.check != nil {
					err = spec.check(resp)
				}
				if err != nil {
					errs.Add(1)
					firstErr.Do(func() { errMsg = err.Error() })
					continue
				}
				if !t1.Before(open) && t1.Before(end) {
					lat = append(lat, t1.Sub(t0))
				}
			}
		}()
	}
	wg.Wait()
	res := LoadResult{Target: spec.target, Path: spec.path, Clients: spec.clients, Seconds: spec.dur.Seconds(), Errors: errs.Load(), FirstError: errMsg}
	if now := time.Now(); now.Before(end) && now.After(open) { // cut short by ctx
		res.Seconds = now.Sub(open).Seconds()
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return res, all
}

// Cold is what widget.js costs when the server's cache of rendered variants
// misses: the variant is rendered and compressed (gzip 9 and brotli 11) on
// the request path. The cache key includes the visitor's language list from
// Accept-Language, so every new list is a miss.
type Cold struct {
	// Misses are sequential requests, each with a language list not asked
	// for before; MissP50 and MissMax their latency in ms. HitP50 is the
	// latency of the same requests repeated (cached), for comparison.
	Misses  int     `json:"misses"`
	MissP50 float64 `json:"miss_p50_ms"`
	MissMax float64 `json:"miss_max_ms"`
	HitP50  float64 `json:"hit_p50_ms"`
	// MissCPU is the process's CPU time per sequential miss (server and
	// client, ms); BurstCPU the CPU time of the whole burst. BurstCPU /
	// MissCPU near Burst means every request of the burst rendered and
	// compressed the variant itself; near 1, that one did it for all.
	MissCPU  float64 `json:"miss_cpu_ms"`
	BurstCPU float64 `json:"burst_cpu_ms"`
	// Burst requests arrive at once for one new language list; BurstAll is
	// the time until all were answered, BurstP50 their median latency.
	Burst       int     `json:"burst"`
	BurstAll    float64 `json:"burst_all_ms"`
	BurstP50    float64 `json:"burst_p50_ms"`
	BurstErrors int     `json:"burst_errors"`
}

// coldWidget measures cache misses on the real server: misses sequential
// requests, each with its own new language list, the same again (hits),
// then burst concurrent requests for one more new list. Every request is
// bounded by a 30 s timeout.
func coldWidget(ctx context.Context, c *crumbServer, misses, burst int) (Cold, error) {
	res := Cold{Misses: misses, Burst: burst}
	langs := widget.Languages()
	if len(langs) < 3 {
		return res, fmt.Errorf("cold widget: %d built-in languages", len(langs))
	}
	// Distinct two-language lists of built-in languages: "de, fr;q=0.5".
	list := func(i int) string {
		a, b := langs[i%len(langs)], langs[(i/len(langs)+1+i)%len(langs)]
		return a + ", " + b + ";q=0.5"
	}
	// Keep-alive connections, one per burst request, opened before the
	// burst so that its requests arrive together rather than as fast as
	// connections can be dialled.
	tr := &http.Transport{MaxIdleConnsPerHost: max(burst, 2), DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	get := func(lang string) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.widgetURL(), nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept-Encoding", "br")
		req.Header.Set("Accept-Language", lang)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(t0), err
	}
	var miss, hit []time.Duration
	cpu0 := loadstat.ProcessCPU()
	for i := range misses {
		d, err := get(list(i))
		if err != nil {
			return res, fmt.Errorf("cold widget: %w", err)
		}
		miss = append(miss, d)
	}
	res.MissCPU = loadstat.MS(loadstat.ProcessCPU()-cpu0) / float64(max(misses, 1))
	for i := range misses {
		d, err := get(list(i))
		if err != nil {
			return res, fmt.Errorf("cold widget: %w", err)
		}
		hit = append(hit, d)
	}
	slices.Sort(miss)
	slices.Sort(hit)
	res.MissP50, res.MissMax, res.HitP50 = loadstat.MS(loadstat.Percentile(miss, .5)), loadstat.MS(loadstat.Percentile(miss, 1)), loadstat.MS(loadstat.Percentile(hit, .5))

	lang := list(misses)
	lats := make([]time.Duration, burst)
	errs := make([]error, burst)
	// Open the connections: burst requests for a cached list at once, each
	// holding its connection until all have one.
	var wg, opened sync.WaitGroup
	opened.Add(burst)
	release := make(chan struct{})
	var t0 time.Time
	var cpu2 time.Duration
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := get(list(0)) // cached: the sequential part asked for it
			opened.Done()
			<-release
			if err != nil {
				errs[i] = err
				return
			}
			lats[i], errs[i] = get(lang)
		}()
	}
	opened.Wait()
	t0, cpu2 = time.Now(), loadstat.ProcessCPU()
	close(release)
	wg.Wait()
	res.BurstAll, res.BurstCPU = loadstat.MS(time.Since(t0)), loadstat.MS(loadstat.ProcessCPU()-cpu2)
	var ok []time.Duration
	for i := range burst {
		if errs[i] != nil {
			res.BurstErrors++
			continue
		}
		ok = append(ok, lats[i])
	}
	slices.Sort(ok)
	res.BurstP50 = loadstat.MS(loadstat.Percentile(ok, .5))
	return res, nil
}
