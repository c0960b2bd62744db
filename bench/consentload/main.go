package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/loadstat"
	"github.com/crumb-consent/crumb/bench/internal/realserver"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/server"

	"github.com/valyala/fasthttp"
)

// Options configure one run.
type Options struct {
	Clients  int           // concurrent closed-loop clients per target (default 256)
	Duration time.Duration // measured time per target and phase (default 10s)
	// Rounds splits Duration into slices that rotate among the three
	// targets (default 5), so that all see the same background load.
	Rounds int
	Warmup time.Duration // before each window; not counted (default 1s)
	// MaxIDs bounds the consent ids kept for the proof phase (default 1<<20).
	MaxIDs int
	// CPUProfile and ProofCPUProfile, when set, receive a CPU profile of the
	// process during the real server's consent and proof windows.
	CPUProfile, ProofCPUProfile string
	// Dir is the real server's data directory; "" uses a temporary one that
	// is removed afterwards.
	Dir string
	// ServerLog receives the real server's error log (default os.Stderr).
	ServerLog io.Writer
	// NoNonce leaves the optional nonce out of consent bodies, to show
	// what the ledger's nonce index costs.
	NoNonce bool
}

func (o *Options) defaults() {
	if o.Clients <= 0 {
		o.Clients = 256
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Rounds <= 0 {
		o.Rounds = 5
	}
	if o.MaxIDs <= 0 {
		o.MaxIDs = 1 << 20
	}
	if o.ServerLog == nil {
		o.ServerLog = os.Stderr
	}
}

// Report is one run's figures.
type Report struct {
	Clients    int           `json:"clients"`
	Nonces     bool          `json:"nonces"`
	Warmup     float64       `json:"warmup_s"`
	GoVersion  string        `json:"go"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Results    []PhaseResult `json:"results"`
	Ratios     []Ratio       `json:"ratios"`
	// Ledger is the real server's group commits during its consent window.
	Ledger   LedgerStats `json:"ledger"`
	TreeSize uint64      `json:"tree_size"` // the real site's log after the run
	Goal     Goal        `json:"goal"`
}

// The three targets: the real server, the same handlers without storage,
// and the same Fiber stack with handlers that do nothing.
const (
	targetReal      = "real"
	targetNoStorage = "no-storage"
	targetEmpty     = "empty"
)

// Ratio compares the real server with one baseline in one phase.
type Ratio struct {
	Phase    string  `json:"phase"`
	Baseline string  `json:"baseline"`  // targetNoStorage or targetEmpty
	RPS      float64 `json:"req_per_s"` // real / baseline
	P99      float64 `json:"p99"`       // real / baseline
	// CPUPerReq is real / baseline CPU per request (process-wide).
	CPUPerReq float64 `json:"cpu_per_req"`
}

// Goal is issue 2's target for this machine: at 256 clients, durable
// consents/s ≥ 0.5× the no-storage baseline's with p99 ≤ 50 ms, and proofs/s
// ≥ 0.5× the no-storage baseline's.
type Goal struct {
	ConsentRPS bool `json:"consent_rps"`
	ConsentP99 bool `json:"consent_p99"`
	ProofRPS   bool `json:"proof_rps"`
	Met        bool `json:"met"`
}

// Errors is the number of failed requests over the run.
func (r *Report) Errors() int64 {
	var n int64
	for _, res := range r.Results {
		n += res.Errors
	}
	return n
}

func (r *Report) ratio(baseline, phase string) Ratio {
	for _, ra := range r.Ratios {
		if ra.Baseline == baseline && ra.Phase == phase {
			return ra
		}
	}
	return Ratio{}
}

func (r *Report) result(target, phase string) PhaseResult {
	for _, res := range r.Results {
		if res.Target == target && res.Phase == phase {
			return res
		}
	}
	return PhaseResult{}
}

// runLoad starts the three targets and drives each through the consent and the
// proof phase. It returns an error only when a run could not be made; failed
// requests are in the report.
func runLoad(ctx context.Context, opts Options) (*Report, error) {
	opts.defaults()
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "consentload-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	rt, err := startReal(dir, realserver.ErrorLogger(opts.ServerLog))
	if err != nil {
		return nil, fmt.Errorf("real server: %w", err)
	}
	defer rt.Close()
	nost, err := rt.StartNoStorage()
	if err != nil {
		return nil, err
	}
	defer nost.Close()
	base, err := realserver.StartBaseline()
	if err != nil {
		return nil, fmt.Errorf("baseline server: %w", err)
	}
	defer base.Close()

	realClient, nostClient, baseClient := newClient(rt.Addr, opts.Clients), newClient(nost.Addr, opts.Clients), newClient(base.Addr, opts.Clients)
	for _, c := range []*fasthttp.HostClient{realClient, nostClient, baseClient} {
		defer c.CloseIdleConnections()
	}

	rep := &Report{
		Clients: opts.Clients, Nonces: !opts.NoNonce, Warmup: opts.Warmup.Seconds(),
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	prefix := ""
	if !opts.NoNonce {
		if prefix, err = noncePrefix(); err != nil {
			return nil, err
		}
	}

	// Consent phase. Every target gets the same bodies; the empty baseline
	// ignores them but reads them all the same.
	bufs := make([][]byte, opts.Clients)
	consentReq := func(w int, seq uint64, req *fasthttp.Request) {
		bufs[w] = consentBody(bufs[w][:0], rt.Site, rt.Version, prefix, w, seq)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI("/v1/consent")
		req.Header.SetContentType("application/json")
		req.SetBody(bufs[w])
	}
	ids := newIDCollector(opts.Clients, opts.MaxIDs)
	var open commitSnapshot
	var commits commitSnapshot // summed over the real consent slices
	var profErr error
	consentProf := &cpuProfile{path: opts.CPUProfile, numbered: opts.Rounds > 1}
	proofProf := &cpuProfile{path: opts.ProofCPUProfile, numbered: opts.Rounds > 1}
	rep.Results = append(rep.Results, alternate(ctx, opts, load{
		target: targetReal, phase: "consent", client: realClient, clients: opts.Clients,
		prepare: consentReq, check: ids.check,
		window: func(opening bool) {
			if opening {
				open = rt.commits.snapshot()
			} else {
				commits = commits.add(rt.commits.snapshot().sub(open))
			}
			profErr = errors.Join(profErr, consentProf.window(opening))
		},
	}, load{
		target: targetNoStorage, phase: "consent", client: nostClient, clients: opts.Clients,
		prepare: consentReq,
	}, load{
		target: targetEmpty, phase: "consent", client: baseClient, clients: opts.Clients,
		prepare: consentReq,
	})...)
	rep.Ledger = ledgerStats(commits, rep.result(targetReal, "consent").Seconds)

	// Proof phase: the ids the real server handed out, spread over workers.
	all := ids.ids()
	if len(all) == 0 {
		return rep, errors.New("the consent phase returned no ids to prove")
	}
	proofReq := func(w int, seq uint64, req *fasthttp.Request) {
		id := all[(uint64(w)+seq*uint64(opts.Clients))%uint64(len(all))]
		bufs[w] = append(append(bufs[w][:0], "/v1/proof/"...), id...)
		req.SetRequestURIBytes(bufs[w])
	}
	template, err := rt.Ledger.Proof(ctx, all[0])
	if err != nil {
		return rep, fmt.Errorf("proof for the no-storage server: %w", err)
	}
	nost.SetProof(template)
	rep.Results = append(rep.Results, alternate(ctx, opts, load{
		target: targetReal, phase: "proof", client: realClient, clients: opts.Clients,
		prepare: proofReq, check: checkProof,
		window: func(opening bool) { profErr = errors.Join(profErr, proofProf.window(opening)) },
	}, load{
		target: targetNoStorage, phase: "proof", client: nostClient, clients: opts.Clients,
		prepare: proofReq, check: checkProof,
	}, load{
		target: targetEmpty, phase: "proof", client: baseClient, clients: opts.Clients,
		prepare: proofReq,
	})...)
	rep.TreeSize = rt.Ledger.Size(rt.Site)

	for _, base := range []string{targetNoStorage, targetEmpty} {
		for _, phase := range []string{"consent", "proof"} {
			r, b := rep.result(targetReal, phase), rep.result(base, phase)
			rep.Ratios = append(rep.Ratios, Ratio{Phase: phase, Baseline: base, RPS: div(r.RPS, b.RPS), P99: div(r.P99, b.P99), CPUPerReq: div(r.CPUPerReq, b.CPUPerReq)})
		}
	}
	c := rep.result(targetReal, "consent")
	rep.Goal.ConsentRPS = rep.ratio(targetNoStorage, "consent").RPS >= 0.5
	rep.Goal.ConsentP99 = c.Requests > 0 && c.P99 <= 50
	rep.Goal.ProofRPS = rep.ratio(targetNoStorage, "proof").RPS >= 0.5
	rep.Goal.Met = rep.Goal.ConsentRPS && rep.Goal.ConsentP99 && rep.Goal.ProofRPS
	if profErr != nil {
		return rep, fmt.Errorf("cpu profile: %w", profErr)
	}
	return rep, ctx.Err()
}

// alternate drives the targets through one phase in opts.Rounds slices each,
// rotating which goes first every round, so that all meet the same
// background load on a shared machine. Each target warms up before its first
// slice, and briefly before later ones (the closed loop restarts, all clients
// at once).
func alternate(ctx context.Context, opts Options, loads ...load) []PhaseResult {
	each := opts.Duration / time.Duration(opts.Rounds)
	parts := make([][]slice, len(loads))
	for r := 0; r < opts.Rounds && ctx.Err() == nil; r++ {
		for k := range loads {
			i := (r + k) % len(loads)
			l := loads[i]
			l.dur = each
			l.warmup = min(opts.Warmup, 250*time.Millisecond)
			if r == 0 {
				l.warmup = opts.Warmup
			}
			l.seq0 = uint64(r) << 40
			parts[i] = append(parts[i], drive(ctx, l))
		}
	}
	res := make([]PhaseResult, len(loads))
	for i, l := range loads {
		res[i] = summarize(l.target, l.phase, opts.Clients, parts[i])
	}
	return res
}

// checkProof makes sure a real proof answer is a proof.
func checkProof(_ int, body []byte) error {
	if _, ok := jsonStringField(body, []byte(`"checkpoint":"`)); !ok {
		return fmt.Errorf("proof answer without a checkpoint: %s", truncate(body, 160))
	}
	return nil
}

// newClient is a keep-alive client with one connection per worker.
func newClient(addr string, clients int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  clients,
		MaxConnWaitTimeout:        10 * time.Second,
		ReadTimeout:               10 * time.Second,
		WriteTimeout:              10 * time.Second,
		MaxIdemponentCallAttempts: 1, // a retried request would hide a failure
		NoDefaultUserAgentHeader:  true,
	}
}

// cpuProfile writes a CPU profile of each measurement window to path, or,
// when numbered, to path.1, path.2, … (`go tool pprof` merges them).
type cpuProfile struct {
	path     string
	numbered bool
	n        int
	f        *os.File
}

// window starts the profile as the window opens and ends it as it closes.
func (p *cpuProfile) window(open bool) error {
	if p.path == "" {
		return nil
	}
	if open {
		name := p.path
		if p.numbered {
			p.n++
			name += "." + strconv.Itoa(p.n)
		}
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		p.f = f
		return nil
	}
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return err
}

func noncePrefix() (string, error) {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteTable prints the report as a plain table.
func (r *Report) WriteTable(w io.Writer) {
	nonces := "with nonces"
	if !r.Nonces {
		nonces = "WITHOUT nonces"
	}
	c := r.result("real", "consent")
	fmt.Fprintf(w, "consentload: %d clients per target, %.1fs warm-up, %.1fs measured per target and phase in %d alternating slices, consents %s, GOMAXPROCS %d, %s\n\n",
		r.Clients, r.Warmup, c.Seconds, c.Rounds, nonces, r.GOMAXPROCS, r.GoVersion)
	fmt.Fprintf(w, "%-10s %-8s %10s %8s %8s %8s %8s %9s %7s %6s %9s\n", "target", "phase", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests", "errors", "cores", "cpu µs/req")
	for _, res := range r.Results {
		fmt.Fprintf(w, "%-10s %-8s %10.0f %8.2f %8.2f %8.2f %8.2f %9d %7d %6.2f %9.1f\n",
			res.Target, res.Phase, res.RPS, res.P50, res.P90, res.P99, res.Max, res.Requests, res.Errors, res.CPUCores, res.CPUPerReq)
	}
	fmt.Fprintln(w)
	for _, ra := range r.Ratios {
		fmt.Fprintf(w, "real/%-10s %-8s req/s %.2f×   p99 %.2f×   cpu/req %.2f×\n", ra.Baseline, ra.Phase, ra.RPS, ra.P99, ra.CPUPerReq)
	}
	l := r.Ledger
	fmt.Fprintf(w, "ledger (real consent window): %d group commits (%.0f/s), mean batch %.1f appends, mean commit %.2f ms, %.0f KiB written per commit; tree size after the run %d\n",
		l.Commits, l.CommitsPerS, l.MeanBatch, l.MeanCommitMs, l.DiskKiBPerCommit, r.TreeSize)
	if len(r.Ratios) == 4 {
		fmt.Fprintf(w, "goal (issue 2, against the no-storage baseline): consents/s ≥ 0.5×: %s (%.2f×); consent p99 ≤ 50 ms: %s (%.2f ms); proofs/s ≥ 0.5×: %s (%.2f×)\n",
			yes(r.Goal.ConsentRPS), r.ratio(targetNoStorage, "consent").RPS, yes(r.Goal.ConsentP99), r.result(targetReal, "consent").P99,
			yes(r.Goal.ProofRPS), r.ratio(targetNoStorage, "proof").RPS)
	}
	for _, res := range r.Results {
		for _, msg := range sortedErrors(res.ErrorSamples) {
			fmt.Fprintf(w, "error %s %s: %d× %s\n", res.Target, res.Phase, res.ErrorSamples[msg], msg)
		}
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func main() {
	// The real server runs in this process: give it the Ps `crumb serve`
	// gives itself (the baselines share them), and its GC setting.
	runtime.GOMAXPROCS(ledger.Procs(os.Getenv("GOMAXPROCS")))
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(server.GCPercent)
	}
	var opts Options
	var asJSON bool
	flag.IntVar(&opts.Clients, "c", 256, "concurrent closed-loop clients per target")
	flag.DurationVar(&opts.Duration, "d", 10*time.Second, "measurement window per target and phase")
	flag.DurationVar(&opts.Warmup, "warmup", time.Second, "warm-up before each window (not counted)")
	flag.IntVar(&opts.Rounds, "rounds", 5, "slices per target and phase, alternating between the targets")
	flag.IntVar(&opts.MaxIDs, "ids", 1<<20, "consent ids kept for the proof phase")
	flag.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the real server's consent window to `file`")
	flag.StringVar(&opts.ProofCPUProfile, "proof-cpuprofile", "", "write a CPU profile of the real server's proof window to `file`")
	flag.StringVar(&opts.Dir, "keep", "", "data directory for the real server, kept afterwards (default: a temporary one)")
	flag.BoolVar(&opts.NoNonce, "no-nonce", false, "post consents without the optional nonce (an experiment: the widget sends one)")
	flag.BoolVar(&asJSON, "json", false, "print the report as JSON")
	flag.Parse()
	if flag.NArg() > 0 || opts.Clients <= 0 || opts.Duration <= 0 || opts.Warmup < 0 || opts.Rounds <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep, err := runLoad(ctx, opts)
	if rep != nil {
		loadstat.Print(os.Stdout, rep, asJSON)
	}
	if err != nil {
		slog.Error("consentload", "err", err)
		os.Exit(1)
	}
	if n := rep.Errors(); n > 0 {
		fmt.Fprintln(os.Stderr, "consentload: "+strconv.FormatInt(n, 10)+" requests failed")
		os.Exit(1)
	}
}
