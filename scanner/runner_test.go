package scanner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func mustOpenDB(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "crumb.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustOpenStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(mustOpenDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitJob polls a job until it leaves the queued and running states.
func waitJob(t *testing.T, r *Runner, id string) Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		j, err := r.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != JobQueued && j.State != JobRunning {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return Job{}
}

func runnerTemplate() Options {
	o := testOptions("")
	o.URL = ""
	return o
}

// changingSite sets different cookies on each version, for diffs.
func changingSite(t *testing.T, version *atomic.Int32) *fixture {
	return newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch version.Load() {
		case 0:
			w.Header().Add("Set-Cookie", "a=1; Path=/")
			w.Header().Add("Set-Cookie", "_ga=1; Path=/; Max-Age=63072000")
			w.Header().Add("Set-Cookie", "mystery_uid=1; Path=/")
		default:
			w.Header().Add("Set-Cookie", "_ga=1; Path=/; Max-Age=63072000; Secure")
			w.Header().Add("Set-Cookie", "c=1; Path=/")
			w.Header().Add("Set-Cookie", "mystery_uid=1; Path=/")
		}
		html(w, "v")
	}))
}

func TestRunnerJobReportEvidence(t *testing.T) {
	store := mustOpenStore(t)
	var version atomic.Int32
	site := changingSite(t, &version)
	var mu sync.Mutex
	evidence := map[string][32]byte{}
	r := NewRunner(store, RunnerOptions{Scan: runnerTemplate(), OnReport: func(s, id string, sum [32]byte) error {
		mu.Lock()
		defer mu.Unlock()
		if s != "site1" {
			t.Errorf("evidence for site %q", s)
		}
		evidence[id] = sum
		return nil
	}})
	defer r.Close()
	if err := store.SetOverrides("site1", map[string]string{"mystery_uid": Preferences, "_ga": Necessary}); err != nil {
		t.Fatal(err)
	}

	id, err := r.Start("site1", site.url("/"), JobOptions{Pages: 5})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := r.Start("site1", site.url("/"), JobOptions{}); err == nil && again != id {
		// The first job may have finished already; then a new one is fine.
		if j, _ := r.Job(id); j.State == JobQueued || j.State == JobRunning {
			t.Errorf("second Start while active = %s, want %s", again, id)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, r, id)
	if j.State != JobDone || j.ReportID != id || j.Done != 1 || j.Planned != 1 || j.Error != "" || j.Site != "site1" {
		t.Fatalf("job = %+v", j)
	}
	rep, info, err := r.Report(j.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := store.ReportJSON(j.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	mu.Lock()
	got := evidence[j.ReportID]
	mu.Unlock()
	if got != sum || info.SHA256 != hex.EncodeToString(sum[:]) || !info.Evidence {
		t.Errorf("evidence hash %x, stored bytes hash %x, info %+v", got, sum, info)
	}
	var fromJSON Report
	if err := json.Unmarshal(raw, &fromJSON); err != nil || fromJSON.URL != rep.URL {
		t.Errorf("stored JSON does not decode to the report: %v", err)
	}
	// The site's overrides applied.
	if c := findCookie(rep, "mystery_uid"); c == nil || c.Category != Preferences || c.Source != SourceOverride || !c.BeforeConsent {
		t.Errorf("overridden mystery_uid = %+v", c)
	}
	if c := findCookie(rep, "_ga"); c == nil || c.Category != Necessary || c.BeforeConsent {
		t.Errorf("_ga overridden to necessary = %+v", c)
	}
	if info.Flagged != 2 { // a (unclassified) and mystery_uid (preferences)
		t.Errorf("flagged = %d, report %+v", info.Flagged, rep.Cookies)
	}

	// A second scan of a changed site, and the diff.
	version.Store(1)
	id2, err := r.Start("site1", site.url("/"), JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, r, id2); j.State != JobDone {
		t.Fatalf("second job = %+v", j)
	}
	infos, err := r.Reports("site1")
	if err != nil || len(infos) != 2 || infos[0].ID != id2 || infos[1].ID != id {
		t.Fatalf("reports = %+v, %v (want newest first)", infos, err)
	}
	d, err := r.Diff("site1")
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []Cookie) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, ",")
	}
	if names(d.New) != "c" || names(d.Gone) != "a" || len(d.Changed) != 1 || d.Changed[0].New.Name != "_ga" ||
		strings.Join(d.Changed[0].Fields, ",") != "secure" {
		t.Errorf("diff: new %q gone %q changed %+v", names(d.New), names(d.Gone), d.Changed)
	}
	if other, err := r.Reports("site2"); err != nil || len(other) != 0 {
		t.Errorf("reports of another site: %+v, %v", other, err)
	}
	if _, err := r.Diff("site2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("diff without reports: %v", err)
	}
}

func TestRunnerCancelAndFailures(t *testing.T) {
	store := mustOpenStore(t)
	var hits atomic.Int64
	site := hostileSite(t, &hits)
	tmpl := runnerTemplate()
	tmpl.Timeout = time.Minute
	r := NewRunner(store, RunnerOptions{Scan: tmpl})
	defer r.Close()

	id, err := r.Start("slow", site.url("/slow"), JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if j, _ := r.Job(id); j.State == JobRunning && j.Planned > 0 {
			break
		}
	}
	if err := r.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, r, id); j.State != JobCanceled || j.ReportID != "" {
		t.Errorf("canceled job = %+v", j)
	}
	if err := r.Cancel(id); err != nil {
		t.Errorf("cancel of a finished job: %v", err)
	}
	if err := r.Cancel("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of an unknown job: %v", err)
	}
	if _, err := r.Job("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}

	for _, tc := range []struct {
		site, url string
		jo        JobOptions
		want      error
	}{
		{"s", "ftp://x", JobOptions{}, ErrBadURL},
		{"s", site.url("/"), JobOptions{Engine: "lynx"}, ErrBadOptions},
		{"s", site.url("/"), JobOptions{Consent: "all"}, ErrBadOptions},
		{"", site.url("/"), JobOptions{}, ErrBadOptions},
		{"a\x00b", site.url("/"), JobOptions{}, ErrBadOptions},
	} {
		if _, err := r.Start(tc.site, tc.url, tc.jo); !errors.Is(err, tc.want) {
			t.Errorf("Start(%q, %q, %+v) = %v, want %v", tc.site, tc.url, tc.jo, err, tc.want)
		}
	}

	// A private target fails the job (the runner's policy, not the job's).
	strict := NewRunner(store, RunnerOptions{Scan: Options{Resolver: testResolver}})
	defer strict.Close()
	id, err = strict.Start("private", site.url("/"), JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, strict, id); j.State != JobFailed || !strings.Contains(j.Error, "private") {
		t.Errorf("private target job = %+v", j)
	}
}

func TestRunnerSchedule(t *testing.T) {
	store := mustOpenStore(t)
	var version atomic.Int32
	site := changingSite(t, &version)
	r := NewRunner(store, RunnerOptions{Scan: runnerTemplate(), Tick: 10 * time.Millisecond})
	defer r.Close()
	if err := r.Schedule("s", site.url("/"), 10*time.Second, JobOptions{}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("a 10s period: %v", err)
	}
	if err := r.Schedule("s", "nope://", 0, JobOptions{}); !errors.Is(err, ErrBadURL) {
		t.Errorf("bad URL: %v", err)
	}
	if err := r.Schedule("s", site.url("/"), 0, JobOptions{}); err != nil {
		t.Fatal(err)
	}
	scheds, err := store.Schedules()
	if err != nil || len(scheds) != 1 || scheds[0].Every != DefaultRescanEvery || time.Until(scheds[0].Next) > time.Second {
		t.Fatalf("schedules = %+v, %v (want one due now, every 30 days)", scheds, err)
	}

	ctx := testCtx(t, 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var infos []ReportInfo
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(infos) == 0; time.Sleep(10 * time.Millisecond) {
		infos, _ = r.Reports("s")
	}
	if len(infos) != 1 {
		t.Fatalf("no rescan ran: %+v", infos)
	}
	scheds, _ = store.Schedules()
	if len(scheds) != 1 || time.Until(scheds[0].Next) < 29*24*time.Hour {
		t.Errorf("after the rescan, next = %v, want in 30 days", scheds[0].Next)
	}
	time.Sleep(50 * time.Millisecond) // a few more ticks: nothing is due
	if infos, _ = r.Reports("s"); len(infos) != 1 {
		t.Errorf("%d reports after more ticks, want 1", len(infos))
	}
	// A new schedule of a scanned site is due one period after its last report.
	if err := r.Schedule("s", site.url("/"), time.Hour, JobOptions{}); err != nil {
		t.Fatal(err)
	}
	scheds, _ = store.Schedules()
	if want := infos[0].Created.Add(time.Hour); !scheds[0].Next.Equal(want) {
		t.Errorf("next = %v, want %v", scheds[0].Next, want)
	}
	if err := r.Unschedule("s"); err != nil {
		t.Fatal(err)
	}
	if scheds, _ = store.Schedules(); len(scheds) != 0 {
		t.Errorf("after Unschedule: %+v", scheds)
	}
	r.Close()
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v", err)
	}
}

func TestStore(t *testing.T) {
	db := mustOpenDB(t)
	s, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	// Jobs left running by a stopped process are failed on open.
	if err := s.putJSON(bucketJobs, "j1", Job{ID: "j1", Site: "x", State: JobRunning}); err != nil {
		t.Fatal(err)
	}
	if err := s.putJSON(bucketJobs, "j2", Job{ID: "j2", Site: "x", State: JobDone, ReportID: "r"}); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	var j1, j2 Job
	s.getJSON(bucketJobs, "j1", &j1)
	s.getJSON(bucketJobs, "j2", &j2)
	if j1.State != JobFailed || j1.Error == "" || j2.State != JobDone {
		t.Errorf("after reopen: %+v %+v", j1, j2)
	}

	// Overrides: validated, stored, removed.
	if err := s.SetOverrides("x", map[string]string{"a": "ads"}); !errors.Is(err, ErrBadCategory) {
		t.Errorf("bad override: %v", err)
	}
	if err := s.SetOverrides("x", map[string]string{"a": Marketing}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Overrides("x"); m["a"] != Marketing {
		t.Errorf("overrides = %v", m)
	}
	if c, _ := s.SiteClassifier("x"); c.Classify("a", "").Source != SourceOverride {
		t.Error("site classifier ignores the overrides")
	}
	if err := s.SetOverrides("x", nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Overrides("x"); len(m) != 0 {
		t.Errorf("overrides after removal = %v", m)
	}

	// Reports, and deleting a site.
	rep := &Report{URL: "https://x.example/", Engine: EngineColly, Cookies: []Cookie{{Name: "_ga", BeforeConsent: true}}}
	info, err := s.SaveReport("x", rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := s.Report(info.ID); err != nil || got.Flagged != 1 || got.Cookies != 1 {
		t.Errorf("report info = %+v, %v", got, err)
	}
	if _, _, err := s.Latest("x"); err != nil {
		t.Error(err)
	}
	if err := s.DeleteSite("x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Report(info.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("report after DeleteSite: %v", err)
	}
	if _, _, err := s.Latest("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("latest after DeleteSite: %v", err)
	}
	if err := s.getJSON(bucketJobs, "j1", &j1); !errors.Is(err, ErrNotFound) {
		t.Errorf("job after DeleteSite: %v", err)
	}
	if _, err := s.SaveReport("", rep); !errors.Is(err, ErrBadOptions) {
		t.Errorf("report without a site: %v", err)
	}
}

func TestStoreImportOpenCookieDatabase(t *testing.T) {
	s := mustOpenStore(t)
	n, err := s.ImportOpenCookieDatabase(openOCD(t))
	if err != nil {
		t.Fatal(err)
	}
	if n < 2000 {
		t.Errorf("imported %d definitions", n)
	}
	c, err := s.Classifier()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Classify("CookieConsentBulkTicket", ""); got.Source != SourceOpenDB || got.Category != Necessary {
		t.Errorf("after import: %+v", got)
	}
	// A bad file changes nothing.
	if _, err := s.ImportOpenCookieDatabase(strings.NewReader("not,a,cookie,database\n")); !errors.Is(err, ErrBadCSV) {
		t.Errorf("bad import: %v", err)
	}
	if _, err := s.ImportOpenCookieDatabase(strings.NewReader("Category,Cookie / Data Key name,Wildcard match\n")); !errors.Is(err, ErrBadCSV) {
		t.Errorf("import without rows: %v", err)
	}
	defs, err := s.Definitions()
	if err != nil || len(defs) != n {
		t.Errorf("after failed imports: %d definitions, %v; want %d", len(defs), err, n)
	}
	// Survives reopening.
	s2, err := OpenStore(s.db)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := s2.Classifier()
	if c2.Len() != c.Len() {
		t.Errorf("reopened classifier has %d definitions, want %d", c2.Len(), c.Len())
	}
}

func TestCompare(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := &Report{Started: start, Cookies: []Cookie{
		{Name: "a", Domain: "x", Path: "/", Expires: start.Add(48 * time.Hour).Format(time.RFC3339)},
		{Name: "b", Domain: "x", Path: "/", Category: Statistics},
		{Name: "gone", Domain: "x", Path: "/"},
	}}
	later := start.Add(30 * 24 * time.Hour)
	newer := &Report{Started: later, Cookies: []Cookie{
		{Name: "a", Domain: "x", Path: "/", Expires: later.Add(48 * time.Hour).Format(time.RFC3339)}, // same lifetime
		{Name: "b", Domain: "x", Path: "/", Category: Marketing, BeforeConsent: true, Initiator: "https://t.example/x.js"},
		{Name: "new", Domain: "x", Path: "/"},
		{Name: "a", Domain: "x", Path: "/sub"}, // another path: another cookie
	}}
	d := Compare(old, newer)
	if len(d.New) != 2 || len(d.Gone) != 1 || d.Gone[0].Name != "gone" || len(d.Changed) != 1 {
		t.Fatalf("diff = %+v", d)
	}
	if got := strings.Join(d.Changed[0].Fields, ","); got != "category,initiator,before_consent" {
		t.Errorf("changed fields = %q", got)
	}
	if d := Compare(nil, newer); len(d.New) != 4 || len(d.Gone) != 0 {
		t.Errorf("diff from nothing = %+v", d)
	}
}
