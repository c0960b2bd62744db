package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSiteBannerAndSharing: banner configs from files, at creation and as
// new versions, turn on consent sharing between an account's sites.
func TestSiteBannerAndSharing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	share := write("share.json", `{"share_consent": true, "layout": "box"}`)
	lastLine := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[len(lines)-1]
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown field", []string{"--banner", write("unknown.json", `{"share": true}`)}},
		{"wrong type", []string{"--banner", write("type.json", `{"share_consent": "yes"}`)}},
		{"not JSON", []string{"--banner", write("junk.json", `<html>`)}},
		{"missing file", []string{"--banner", filepath.Join(dir, "nope.json")}},
	} {
		args := append([]string{"site", "add", "--domain", "bad.example", "--data", data}, tc.args...)
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("%s: site add accepted it", tc.name)
		}
	}

	outA, err := runCmd(t, "site", "add", "--domain", "shop-a.example", "--account", "acme", "--banner", share, "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	outB, err := runCmd(t, "site", "add", "--domain", "shop-b.example", "--account", "acme", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lastLine(outA), lastLine(outB)
	if _, err := runCmd(t, "site", "banner", "--site", b, "--data", data, filepath.Join(dir, "nope.json")); err == nil {
		t.Fatal("site banner accepted a missing file")
	}
	if _, err := runCmd(t, "site", "banner", "--site", "NOSUCHSITE000000", "--data", data, share); err == nil {
		t.Fatal("site banner accepted an unknown site")
	}
	before := siteVersion(t, data, b)
	out, err := runCmd(t, "site", "banner", "--site", b, "--data", data, share)
	if err != nil {
		t.Fatal(err)
	}
	if v := lastLine(out); v == before || v != siteVersion(t, data, b) {
		t.Fatalf("site banner printed %q; current version %q (was %q)", v, siteVersion(t, data, b), before)
	}

	base := startServe(t, data)
	if js := string(get(t, base+"/v1/sites/"+a+"/widget.js")); !strings.Contains(js, `"shop-b.example"`) {
		t.Error("A's widget does not hand consents on to B")
	}
	if js := string(get(t, base+"/v1/sites/"+b+"/widget.js")); !strings.Contains(js, `"shop-a.example"`) {
		t.Error("B's widget does not hand consents on to A")
	}
	if _, err := runCmd(t, "site", "banner", "--site", b, "--data", data, share); err == nil || !strings.Contains(err.Error(), "through the API") {
		t.Fatalf("site banner with the server running: %v", err)
	}
	if _, err := runCmd(t, "site", "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown site subcommand: %v", err)
	}
}
