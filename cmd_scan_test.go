package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
