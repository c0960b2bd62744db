package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/crumb-consent/crumb/scanner"
)

func fixtureSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1.1", Path: "/", MaxAge: 3600})
		http.SetCookie(w, &http.Cookie{Name: "PHPSESSID", Value: "x", Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><a href="/about">about</a></body></html>`))
	})
	mux.HandleFunc("/about", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body>about</body></html>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestScanCommand(t *testing.T) {
	site := fixtureSite(t)
	env, out, _ := testEnv(nil)
	if err := run(context.Background(), env, []string{"scan", site.URL, "--pages", "5", "--allow-private-scan"}); err != nil {
		t.Fatal(err)
	}
	var report scanner.Report
	if err := json.Unmarshal([]byte(out.String()), &report); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	got := map[string]scanner.Cookie{}
	for _, c := range report.Cookies {
		got[c.Name] = c
	}
	if c := got["_ga"]; c.Category != "statistics" || !c.BeforeConsent || c.SetBy != "header" {
		t.Errorf("_ga: %+v", c)
	}
	if c := got["PHPSESSID"]; c.Category != "necessary" || c.BeforeConsent || !c.HTTPOnly {
		t.Errorf("PHPSESSID: %+v", c)
	}
	if len(report.Pages) != 2 {
		t.Errorf("pages %+v", report.Pages)
	}

	env, out, _ = testEnv(nil)
	if err := run(context.Background(), env, []string{"scan", "--format", "table", "--allow-private-scan", site.URL}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "_ga") || !strings.Contains(out.String(), "FLAGGED") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestScanRefusesPrivateTargets(t *testing.T) {
	site := fixtureSite(t)
	for _, target := range []string{site.URL, "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/"} {
		env, out, _ := testEnv(nil)
		err := run(context.Background(), env, []string{"scan", target, "--pages", "1"})
		if err == nil {
			t.Errorf("scan %s without --allow-private-scan succeeded:\n%s", target, out)
			continue
		}
		if !strings.Contains(err.Error(), "private") {
			t.Errorf("scan %s: error %q does not say why", target, err)
		}
	}
}

func TestFlagsFirst(t *testing.T) {
	fs := newFlagSet(&Env{Stderr: new(syncBuffer)}, "x")
	fs.Int("pages", 1, "")
	fs.Bool("allow-private-scan", false, "")
	got := strings.Join(flagsFirst(fs, []string{"https://a.example", "--pages", "5", "--allow-private-scan", "--", "--literal"}), " ")
	if want := "--pages 5 --allow-private-scan https://a.example --literal"; got != want {
		t.Fatalf("flagsFirst = %q, want %q", got, want)
	}
}

// TestSiteScanFeedsBannerAndEvidence: a scan stored for a site (through the
// running server's admin socket) fills the banner's cookie declaration and
// auto-block services, and its hash is provable in the site's scan log.
func TestSiteScanFeedsBannerAndEvidence(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1.1", Path: "/", MaxAge: 400 * 86400})
		w.Header().Set("Content-Type", "text/html")
		// The tracker script is only named in the HTML: the colly engine
		// records it and never fetches another site.
		w.Write([]byte(`<html><body><script src="https://www.google-analytics.com/analytics.js"></script></body></html>`))
	})
	fixture := httptest.NewServer(mux)
	t.Cleanup(fixture.Close)

	data := t.TempDir() + "/data"
	site := addSite(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	env, _, serveErr := testEnv(nil)
	env.Ready = ready
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--public-url", "http://crumb.test", "--allow-private-scan"})
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, serveErr)
	}
	t.Cleanup(func() { cancel(); <-done })

	scanEnv, out, errOut := testEnv(nil)
	if err := run(context.Background(), scanEnv, []string{"scan", fixture.URL, "--site", site, "--data", data, "--pages", "3", "--allow-private-scan"}); err != nil {
		t.Fatalf("scan --site: %v\n%s", err, errOut)
	}
	var report scanner.Report
	if err := json.Unmarshal([]byte(out.String()), &report); err != nil || len(report.Cookies) == 0 {
		t.Fatalf("report: %v\n%s", err, out)
	}
	for _, p := range report.Pages {
		if strings.Contains(p.URL, "google-analytics") {
			t.Fatalf("the scanner fetched a third-party page: %+v", p)
		}
	}
	var reportID string
	for _, line := range strings.Split(errOut.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "report" {
			reportID = f[1]
		}
	}
	if reportID == "" {
		t.Fatalf("no report id on stderr:\n%s", errOut)
	}

	// The banner now declares _ga and blocks Google Analytics' host.
	js := string(get(t, base+"/v1/sites/"+site+"/widget.js"))
	if !strings.Contains(js, `"name":"_ga"`) || !strings.Contains(js, `"hosts":["www.google-analytics.com"]`) {
		t.Fatalf("widget.js lacks the scan's declaration or services:\n%.2000s", js)
	}

	// The report's hash is provable: leaf in "<site>/scans", id = report id.
	var proof struct {
		Site   string
		Record struct{ Report, SHA256 string }
	}
	body := get(t, base+"/v1/proof/"+reportID)
	if err := json.Unmarshal(body, &proof); err != nil {
		t.Fatal(err)
	}
	if proof.Site != site+"/scans" || proof.Record.Report != reportID || len(proof.Record.SHA256) != 64 {
		t.Fatalf("scan evidence proof: %s", body)
	}
}

func TestCookiesImport(t *testing.T) {
	csv := "../shared/data/open-cookie-database.csv"
	if _, err := os.Stat(csv); err != nil {
		t.Skipf("no %s in this clone (it sits beside the project in ../shared): %v", csv, err)
	}
	data := t.TempDir() + "/data"
	out, err := runCmd(t, "cookies", "import", csv, "--data", data)
	if err != nil || !strings.Contains(out, "imported ") {
		t.Fatalf("cookies import: %v %q", err, out)
	}
	var n int
	fmt.Sscanf(out, "imported %d", &n)
	if n < 2000 {
		t.Fatalf("imported only %d definitions", n)
	}
	bad := t.TempDir() + "/bad.csv"
	os.WriteFile(bad, []byte("not,a,cookie,database\n1,2\n"), 0o600)
	if _, err := runCmd(t, "cookies", "import", bad, "--data", data); err == nil {
		t.Fatal("a malformed CSV was imported")
	}
}
