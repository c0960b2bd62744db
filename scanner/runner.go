package scanner

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Job states.
const (
	JobQueued   = "queued"
	JobRunning  = "running"
	JobDone     = "done"
	JobFailed   = "failed"
	JobCanceled = "canceled"
)

// DefaultRescanEvery is the period of a scheduled rescan.
const DefaultRescanEvery = 30 * 24 * time.Hour

// Job is one scan run by a Runner. Done and Planned are pages, for a
// progress bar; ReportID is set once the job is done.
type Job struct {
	ID       string     `json:"id"`
	Site     string     `json:"site"`
	URL      string     `json:"url"`
	Options  JobOptions `json:"options"`
	State    string     `json:"state"`
	Done     int        `json:"done"`
	Planned  int        `json:"planned"`
	Error    string     `json:"error,omitempty"`
	ReportID string     `json:"report_id,omitempty"`
	Created  time.Time  `json:"created"`
	Started  time.Time  `json:"started,omitzero"`
	Finished time.Time  `json:"finished,omitzero"`
}

// JobOptions are what an owner may choose for a scan; everything else
// (private targets, timeouts, the browser) is the runner's policy
// (RunnerOptions.Scan).
type JobOptions struct {
	Pages   int    `json:"pages,omitempty"`   // default RunnerOptions.Scan.Pages or DefaultPages
	Engine  string `json:"engine,omitempty"`  // default RunnerOptions.Scan.Engine or colly
	Consent string `json:"consent,omitempty"` // "" or "all" (chrome)
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Scan is the template of every scan: AllowPrivate, timeouts, user
	// agent, resolver, shared Browser, default Pages and Engine. Its URL,
	// Progress, Classifier and Consent are set per job.
	Scan Options
	// MaxConcurrent scans run at once (default 2); more wait queued.
	MaxConcurrent int
	// MaxQueued jobs may wait (default 100); Start fails with ErrBusy beyond.
	MaxQueued int
	// JobTimeout bounds one scan (default 30 minutes).
	JobTimeout time.Duration
	// Tick is how often Run looks for due rescans (default 1 minute).
	Tick time.Duration
	// OnReport is called after a report is stored, with the SHA-256 of its
	// JSON (Store.ReportJSON): the evidence hook, wired to the ledger's
	// "<site>/scans" log. An error is recorded on the job; the report stays.
	OnReport func(site, reportID string, sum [32]byte) error
	// Browser says how to start the browser that chrome scans share when
	// Scan.Browser is nil: the runner starts it with the first chrome job
	// and stops it after BrowserIdle without one (default 5 minutes).
	Browser     BrowserOptions
	BrowserIdle time.Duration
	// Logger receives job failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Runner runs scans as jobs: queued, run a few at a time, with progress,
// cancellation, stored reports and periodic rescans. Start it with
// NewRunner, call Run in a goroutine for the rescans, and Close at the end.
type Runner struct {
	store *Store
	o     RunnerOptions
	ctx   context.Context
	stop  context.CancelFunc
	sem   chan struct{}
	wg    sync.WaitGroup

	browser *sharedBrowser

	mu     sync.Mutex
	active map[string]*activeJob // queued or running, by job id
	bySite map[string]string     // site → active job id
	closed bool
}

type activeJob struct {
	job    Job
	cancel context.CancelFunc
}

// NewRunner returns a runner over store.
func NewRunner(store *Store, opts RunnerOptions) *Runner {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 2
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 100
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 30 * time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BrowserIdle <= 0 {
		opts.BrowserIdle = 5 * time.Minute
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Runner{store: store, o: opts, ctx: ctx, stop: stop, sem: make(chan struct{}, opts.MaxConcurrent),
		browser: &sharedBrowser{opts: opts.Browser, idle: opts.BrowserIdle},
		active:  map[string]*activeJob{}, bySite: map[string]string{}}
}

// Start queues a scan of url for site and returns the job id. If the site
// has a job queued or running already, Start returns that job's id instead.
// Bad input fails with ErrBadURL or ErrBadOptions, a full queue with ErrBusy.
func (r *Runner) Start(site, url string, jo JobOptions) (string, error) {
	if err := checkSite(site); err != nil {
		return "", err
	}
	o, err := r.options(url, jo)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", fmt.Errorf("scanner: runner closed: %w", ErrBusy)
	}
	if id, ok := r.bySite[site]; ok {
		return id, nil
	}
	if len(r.active) >= r.o.MaxQueued+r.o.MaxConcurrent {
		return "", fmt.Errorf("scanner: start scan of %s: %w", site, ErrBusy)
	}
	j := Job{ID: newID(), Site: site, URL: o.URL, Options: jo, State: JobQueued, Created: r.o.Now().UTC()}
	if err := r.store.putJSON(bucketJobs, j.ID, j); err != nil {
		return "", fmt.Errorf("scanner: save job: %w", err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.o.JobTimeout)
	r.active[j.ID] = &activeJob{job: j, cancel: cancel}
	r.bySite[site] = j.ID
	r.wg.Go(func() { r.run(ctx, cancel, j.ID, o) })
	return j.ID, nil
}

// options builds a job's scan options from the template; the result has
// been validated.
func (r *Runner) options(url string, jo JobOptions) (Options, error) {
	o := r.o.Scan
	o.URL = url
	o.Progress, o.Classifier = nil, nil
	o.Consent = jo.Consent
	if jo.Pages != 0 {
		o.Pages = jo.Pages
	}
	if jo.Engine != "" {
		o.Engine = jo.Engine
	}
	v, _, err := o.withDefaults()
	if err != nil {
		return o, err
	}
	o.URL = v.URL
	return o, nil
}

func (r *Runner) run(ctx context.Context, cancel context.CancelFunc, id string, o Options) {
	defer cancel()
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		r.finish(id, nil, ctx.Err())
		return
	}
	r.update(id, func(j *Job) { j.State, j.Started = JobRunning, r.o.Now().UTC() })
	site := r.job(id).Site
	cl, err := r.store.SiteClassifier(site)
	if err != nil {
		r.finish(id, nil, err)
		return
	}
	o.Classifier = cl
	o.Progress = func(done, planned int) {
		r.update(id, func(j *Job) { j.Done, j.Planned = done, planned })
	}
	if o.Engine == EngineChrome && o.Browser == nil {
		b, err := r.browser.acquire()
		if err != nil {
			r.finish(id, nil, err)
			return
		}
		defer r.browser.release()
		o.Browser = b
	}
	rep, err := Scan(ctx, o)
	r.finish(id, rep, err)
}

// job returns an active job's current state.
func (r *Runner) job(id string) Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.active[id]; ok {
		return a.job
	}
	return Job{}
}

// update changes an active job in memory; state changes are also saved.
func (r *Runner) update(id string, f func(*Job)) {
	r.mu.Lock()
	a, ok := r.active[id]
	if !ok {
		r.mu.Unlock()
		return
	}
	before := a.job.State
	f(&a.job)
	j := a.job
	r.mu.Unlock()
	if j.State != before {
		if err := r.store.putJSON(bucketJobs, id, j); err != nil {
			r.o.Logger.Error("scanner: save job", "job", id, "err", err)
		}
	}
}

// finish stores the report of a job (if it completed) and its final state.
func (r *Runner) finish(id string, rep *Report, scanErr error) {
	j := r.job(id)
	j.Finished = r.o.Now().UTC()
	switch {
	case scanErr == nil && rep != nil:
		info, err := r.store.saveReport(id, j.Site, rep)
		if err != nil {
			j.State, j.Error = JobFailed, err.Error()
			break
		}
		j.State, j.ReportID, j.Done, j.Planned = JobDone, info.ID, info.Pages, info.Pages
		if r.o.OnReport != nil {
			raw, _, err := r.store.ReportJSON(info.ID)
			if err == nil {
				err = r.o.OnReport(j.Site, info.ID, sha256.Sum256(raw))
			}
			if err == nil {
				err = r.store.markEvidence(info.ID)
			}
			if err != nil {
				j.Error = "evidence: " + err.Error()
				r.o.Logger.Error("scanner: scan evidence", "site", j.Site, "report", info.ID, "err", err)
			}
		}
	case errors.Is(scanErr, context.Canceled):
		j.State, j.Error = JobCanceled, "canceled"
	case errors.Is(scanErr, context.DeadlineExceeded):
		j.State, j.Error = JobFailed, "timed out"
	default:
		j.State = JobFailed
		if scanErr != nil {
			j.Error = scanErr.Error()
		}
		r.o.Logger.Warn("scanner: scan failed", "site", j.Site, "job", id, "err", scanErr)
	}
	if err := r.store.putJSON(bucketJobs, id, j); err != nil {
		r.o.Logger.Error("scanner: save job", "job", id, "err", err)
	}
	r.mu.Lock()
	delete(r.active, id)
	if r.bySite[j.Site] == id {
		delete(r.bySite, j.Site)
	}
	r.mu.Unlock()
}

// Job returns a job by id: live progress while it runs, the stored record
// after. Unknown ids fail with ErrNotFound.
func (r *Runner) Job(id string) (Job, error) {
	r.mu.Lock()
	if a, ok := r.active[id]; ok {
		j := a.job
		r.mu.Unlock()
		return j, nil
	}
	r.mu.Unlock()
	var j Job
	if err := r.store.getJSON(bucketJobs, id, &j); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Job{}, fmt.Errorf("scanner: job %q: %w", id, ErrNotFound)
		}
		return Job{}, fmt.Errorf("scanner: read job %q: %w", id, err)
	}
	return j, nil
}

// Cancel stops a queued or running job; it ends as canceled. Cancelling a
// finished job does nothing; an unknown id fails with ErrNotFound.
func (r *Runner) Cancel(id string) error {
	r.mu.Lock()
	a, ok := r.active[id]
	r.mu.Unlock()
	if ok {
		a.cancel()
		return nil
	}
	_, err := r.Job(id)
	return err
}

// Reports lists a site's stored reports, newest first.
func (r *Runner) Reports(site string) ([]ReportInfo, error) { return r.store.Reports(site) }

// Report returns a stored report by id (a job's ReportID).
func (r *Runner) Report(id string) (*Report, ReportInfo, error) { return r.store.Report(id) }

// Schedule makes Run rescan site every period (0 means DefaultRescanEvery).
// The first rescan is due one period after the site's latest report, or at
// once when it has none.
func (r *Runner) Schedule(site, url string, every time.Duration, jo JobOptions) error {
	if err := checkSite(site); err != nil {
		return err
	}
	if every == 0 {
		every = DefaultRescanEvery
	}
	if every < time.Minute {
		return fmt.Errorf("%w: rescan period %v (want at least a minute)", ErrBadOptions, every)
	}
	o, err := r.options(url, jo)
	if err != nil {
		return err
	}
	next := r.o.Now().UTC()
	if infos, err := r.store.Reports(site); err == nil && len(infos) > 0 {
		next = infos[0].Created.Add(every)
	}
	return r.store.saveSchedule(Schedule{Site: site, URL: o.URL, Every: every, Next: next, Scan: jo})
}

// Unschedule stops a site's periodic rescans.
func (r *Runner) Unschedule(site string) error {
	if err := r.store.deleteSchedule(site); err != nil {
		return fmt.Errorf("scanner: unschedule %s: %w", site, err)
	}
	return nil
}

// Run starts due rescans every Tick until ctx ends. Jobs it started keep
// running; Close stops them.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.o.Tick)
	defer t.Stop()
	for {
		r.startDue()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// startDue starts the rescans whose time has come and moves their next
// time on by their period.
func (r *Runner) startDue() {
	scheds, err := r.store.Schedules()
	if err != nil {
		r.o.Logger.Error("scanner: rescans", "err", err)
		return
	}
	now := r.o.Now().UTC()
	for _, sc := range scheds {
		if sc.Next.After(now) {
			continue
		}
		if _, err := r.Start(sc.Site, sc.URL, sc.Scan); err != nil {
			r.o.Logger.Warn("scanner: rescan not started", "site", sc.Site, "err", err)
			if errors.Is(err, ErrBusy) {
				return // the queue is full: try again next tick
			}
		}
		sc.Next = now.Add(sc.Every)
		if err := r.store.saveSchedule(sc); err != nil {
			r.o.Logger.Error("scanner: rescans", "site", sc.Site, "err", err)
		}
	}
}

// Close cancels every queued and running job and waits for them.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
	r.browser.close()
	return nil
}

// Diff compares a site's latest report with the one before it. With fewer
// than two reports, the missing ones count as empty; with none it fails with
// ErrNotFound.
func (r *Runner) Diff(site string) (Diff, error) {
	infos, err := r.store.Reports(site)
	if err != nil {
		return Diff{}, err
	}
	if len(infos) == 0 {
		return Diff{}, fmt.Errorf("scanner: reports of %s: %w", site, ErrNotFound)
	}
	newRep, _, err := r.store.Report(infos[0].ID)
	if err != nil {
		return Diff{}, err
	}
	var oldRep *Report
	if len(infos) > 1 {
		if oldRep, _, err = r.store.Report(infos[1].ID); err != nil {
			return Diff{}, err
		}
	}
	return Compare(oldRep, newRep), nil
}
