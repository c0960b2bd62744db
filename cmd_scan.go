package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/scanner"
)

func runScan(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "scan")
	pages := fs.Int("pages", scanner.DefaultPages, "maximum pages to load")
	engine := fs.String("engine", scanner.EngineColly, "colly (HTTP only) or chrome (a real Chromium: also sees script cookies and storage)")
	format := fs.String("format", "json", "json (the report of DESIGN §7) or table")
	consentRuns := fs.String("consent", "", `chrome engine: "all" also loads each page after Accept all and after Reject all in the Crumb banner`)
	allowPrivate := fs.Bool("allow-private-scan", false, "allow loopback and private addresses as targets")
	site := fs.String("site", "", "store the report as this site's scan (with its evidence in the ledger); through the running server if there is one")
	data := fs.String("data", "./data", "data directory: its imported cookie definitions classify the cookies; with --site, where the report is stored")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: crumb scan URL [--pages N] [--engine colly|chrome] [--format json|table] [--allow-private-scan]", errUsage)
	}
	if *format != "json" && *format != "table" {
		return fmt.Errorf("%w: --format must be json or table", errUsage)
	}
	if *engine != scanner.EngineColly && *engine != scanner.EngineChrome {
		return fmt.Errorf("%w: --engine must be colly or chrome", errUsage)
	}
	if *pages < 1 {
		return fmt.Errorf("%w: --pages must be at least 1", errUsage)
	}
	if *site != "" {
		return runSiteScan(ctx, env, *data, *site, fs.Arg(0), *allowPrivate, *format, scanner.JobOptions{Pages: *pages, Engine: *engine, Consent: *consentRuns})
	}
	report, err := scanner.Scan(ctx, scanner.Options{
		URL: fs.Arg(0), Pages: *pages, Engine: *engine, Consent: *consentRuns, AllowPrivate: *allowPrivate,
		Classifier: importedClassifier(env, *data),
		Progress:   func(done, planned int) { fmt.Fprintf(env.Stderr, "\rscanned %d/%d pages", done, planned) },
	})
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return writeReport(env.Stdout, report, *format)
}

func writeReport(w io.Writer, report *scanner.Report, format string) error {
	if format == "table" {
		return writeScanTable(w, report)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// importedClassifier is the classifier with the definitions imported into
// the data directory (crumb cookies import), or nil (the built-in database)
// when there are none or a running server holds the directory.
func importedClassifier(env *Env, data string) *scanner.Classifier {
	if _, err := os.Stat(filepath.Join(data, crumbDBFile)); err != nil {
		return nil
	}
	db, err := openCrumbDB(data)
	if err != nil {
		fmt.Fprintf(env.Stderr, "classifying with the built-in database only: %v\n", err)
		return nil
	}
	defer db.Close()
	store, err := scanner.OpenStore(db)
	if err != nil {
		return nil
	}
	c, err := store.Classifier()
	if err != nil {
		return nil
	}
	return c
}

// siteScans is a job runner: the local one when no server runs, or the
// running server's, reached through its admin socket.
type siteScans interface {
	start(site, url string, jo scanner.JobOptions) (string, error)
	job(id string) (scanner.Job, error)
	report(id string) ([]byte, error)
}

// runSiteScan runs a scan as a job of the site, stores the report and its
// evidence, and prints the report.
func runSiteScan(ctx context.Context, env *Env, data, site, target string, allowPrivate bool, format string, jo scanner.JobOptions) error {
	var jobs siteScans
	db, err := openExistingCrumbDB(data)
	switch {
	case errors.Is(err, errDataInUse):
		jobs = adminScans{data}
	case err != nil:
		return err
	default:
		db.Close()
		host, err := ledger.KeyName(data)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("scan --site: %s has no ledger yet: start the server once (crumb serve) so that it names the ledger's key", data)
		}
		if err != nil {
			return err
		}
		st, err := openStores(data, host, nil)
		if err != nil {
			return err
		}
		defer st.Close()
		runner := st.newRunner(allowPrivate, nil)
		defer runner.Close()
		jobs = localScans{st, runner}
	}
	id, err := jobs.start(site, target, jo)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		job, err := jobs.job(id)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		fmt.Fprintf(env.Stderr, "\rscanned %d/%d pages", job.Done, job.Planned)
		switch job.State {
		case scanner.JobDone:
			fmt.Fprintln(env.Stderr)
			body, err := jobs.report(job.ReportID)
			if err != nil {
				return err
			}
			var report scanner.Report
			if err := json.Unmarshal(body, &report); err != nil {
				return fmt.Errorf("scan: stored report: %w", err)
			}
			fmt.Fprintf(env.Stderr, "report %s stored for site %s\n", job.ReportID, site)
			return writeReport(env.Stdout, &report, format)
		case scanner.JobFailed, scanner.JobCanceled:
			fmt.Fprintln(env.Stderr)
			return fmt.Errorf("scan %s: %s", job.State, job.Error)
		}
	}
}

// startSiteScan checks that the site exists before queueing its scan.
func startSiteScan(st *stores, runner *scanner.Runner, site, target string, jo scanner.JobOptions) (string, error) {
	if _, err := st.sites.Site(site); err != nil {
		return "", err
	}
	return runner.Start(site, target, jo)
}

type localScans struct {
	st     *stores
	runner *scanner.Runner
}

func (l localScans) start(site, url string, jo scanner.JobOptions) (string, error) {
	return startSiteScan(l.st, l.runner, site, url, jo)
}
func (l localScans) job(id string) (scanner.Job, error) { return l.runner.Job(id) }
func (l localScans) report(id string) ([]byte, error) {
	data, _, err := l.st.scans.ReportJSON(id)
	return data, err
}

// adminScans runs scan jobs in the server that holds the data directory.
type adminScans struct{ dir string }

func (a adminScans) start(site, target string, jo scanner.JobOptions) (string, error) {
	q := url.Values{"site": {site}, "url": {target}, "pages": {strconv.Itoa(jo.Pages)}, "engine": {jo.Engine}, "consent": {jo.Consent}}
	body, err := a.call(http.MethodPost, "/scans?"+q.Encode())
	return string(body), err
}

func (a adminScans) job(id string) (scanner.Job, error) {
	var job scanner.Job
	body, err := a.call(http.MethodGet, "/jobs/"+url.PathEscape(id))
	if err == nil {
		err = json.Unmarshal(body, &job)
	}
	return job, err
}

func (a adminScans) report(id string) ([]byte, error) {
	return a.call(http.MethodGet, "/reports/"+url.PathEscape(id))
}

func (a adminScans) call(method, path string) ([]byte, error) {
	return adminCall(a.dir, method, path, "", nil)
}

func writeScanTable(w io.Writer, r *scanner.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d pages, %d cookies, %d third-party requests from %s (%s)\n\n", len(r.Pages), len(r.Cookies), countThirdParty(r), r.URL, r.Engine)
	fmt.Fprintln(tw, "NAME\tDOMAIN\tCATEGORY\tSOURCE\tPARTY\tSET BY\tEXPIRES\tBEFORE CONSENT")
	for _, c := range r.Cookies {
		party, expires, before := "first", c.Expires, ""
		if c.ThirdParty {
			party = "third"
		}
		if expires == "" {
			expires = "session"
		}
		if c.BeforeConsent {
			before = "FLAGGED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Domain, c.Category, c.Source, party, c.SetBy, expires, before)
	}
	return tw.Flush()
}

func countThirdParty(r *scanner.Report) int {
	n := 0
	for _, req := range r.Requests {
		if req.ThirdParty {
			n++
		}
	}
	return n
}
