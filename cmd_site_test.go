package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crumb-consent/crumb/account"
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

	listJSON := func(args ...string) []account.Site {
		t.Helper()
		out, err := runCmd(t, append([]string{"site", "list", "--json", "--data", data}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var sites []account.Site
		if err := json.Unmarshal([]byte(out), &sites); err != nil {
			t.Fatalf("site list --json: %v\n%s", err, out)
		}
		return sites
	}
	// ids are the listed sites' ids, sorted: sites created within one
	// second of each other are listed in id order.
	ids := func(sites []account.Site) (out []string) {
		for _, s := range sites {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	if got := ids(listJSON("--account", "acme")); !slices.Equal(got, sorted(a, b)) {
		t.Errorf("site list --account acme = %v, want %v", got, sorted(a, b))
	}
	if got := ids(listJSON("--account", "other")); len(got) != 0 {
		t.Errorf("site list of another account = %v", got)
	}
	if table, err := runCmd(t, "site", "list", "--data", data); err != nil || !strings.Contains(table, a) || !strings.Contains(table, "shop-b.example") {
		t.Errorf("site list table: %v\n%s", err, table)
	}

	base := startServe(t, data)
	if js := string(get(t, base+"/v1/sites/"+a+"/widget.js")); !strings.Contains(js, `"shop-b.example"`) {
		t.Error("A's widget does not hand consents on to B")
	}
	if js := string(get(t, base+"/v1/sites/"+b+"/widget.js")); !strings.Contains(js, `"shop-a.example"`) {
		t.Error("B's widget does not hand consents on to A")
	}

	// With the server running, both commands go through its admin socket,
	// and it serves the result at once.
	bar := write("bar.json", `{"share_consent": true, "layout": "bar", "position": "bottom"}`)
	out, err = runCmd(t, "site", "banner", "--site", b, "--data", data, bar)
	if err != nil {
		t.Fatalf("site banner with the server running: %v", err)
	}
	if v := lastLine(out); !strings.Contains(string(get(t, base+"/v1/sites/"+b+"/config")), `"version":"`+v+`"`) {
		t.Errorf("the running server does not serve the banner version %q it was given", v)
	}
	if _, err := runCmd(t, "site", "banner", "--site", "NOSUCHSITE000000", "--data", data, bar); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("site banner for an unknown site, through the server: %v", err)
	}
	outC, err := runCmd(t, "site", "add", "--domain", "shop-c.example", "--account", "acme", "--banner", share, "--data", data)
	if err != nil {
		t.Fatalf("site add with the server running: %v", err)
	}
	if js := string(get(t, base+"/v1/sites/"+lastLine(outC)+"/widget.js")); !strings.Contains(js, `"shop-a.example"`) {
		t.Error("the site added through the running server does not share with its account's sites")
	}
	if got, want := ids(listJSON("--account", "acme")), sorted(a, b, lastLine(outC)); !slices.Equal(got, want) {
		t.Errorf("site list through the running server = %v, want %v", got, want)
	}
	if _, err := runCmd(t, "site", "add", "--domain", "not a domain", "--data", data); err == nil {
		t.Error("site add with a bad domain, through the server, succeeded")
	}
	if _, err := runCmd(t, "site", "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown site subcommand: %v", err)
	}
}

// TestAdminSitesRejectBadInput sends the admin socket's site routes bad
// bodies: each gets a 4xx, and the site's banner stays as it was.
func TestAdminSitesRejectBadInput(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	site := addSite(t, data)
	base := startServe(t, data)
	before := string(get(t, base+"/v1/sites/"+site+"/config"))
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"not JSON", "POST", "/sites", `<html>`},
		{"unknown field", "POST", "/sites", `{"domains":["a.example"],"admin":true}`},
		{"no domains", "POST", "/sites", `{"name":"x"}`},
		{"bad banner", "POST", "/sites", `{"domains":["a.example"],"banner":{"layout":"sideways"}}`},
		{"banner not an object", "POST", "/sites", `{"domains":["a.example"],"banner":"box"}`},
		{"body over 2 MiB", "POST", "/sites", `{"domains":["a.example"],"name":"` + strings.Repeat("x", 3<<20) + `"}`},
		{"banner: not JSON", "PUT", "/sites/" + site + "/banner", `{`},
		{"banner: over 1 MiB", "PUT", "/sites/" + site + "/banner", `{"texts":{"en":{"title":"` + strings.Repeat("x", 2<<20) + `"}}}`},
		{"banner: unknown site", "PUT", "/sites/nosuchsite000000/banner", `{}`},
		{"banner: path junk", "PUT", "/sites/..%2f..%2fetc/banner", `{}`},
	} {
		_, err := adminCall(data, tc.method, tc.path, "application/json", strings.NewReader(tc.body))
		if err == nil || !strings.Contains(err.Error(), "server answered 4") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if after := string(get(t, base+"/v1/sites/"+site+"/config")); after != before {
		t.Errorf("bad input changed the banner:\n%s\n%s", before, after)
	}
}

// TestMissingDataDirIsRefused: a command that reads or maintains data, run
// on a --data that holds none (a typo), says so and creates nothing.
func TestMissingDataDirIsRefused(t *testing.T) {
	base := t.TempDir()
	banner := filepath.Join(base, "banner.json")
	if err := os.WriteFile(banner, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{"site", "list"},
		{"site", "banner", "--site", "s0000000000000000", banner},
		{"erase-expired"},
		{"backup", filepath.Join(base, "b.tar")},
		{"scan", "--site", "s0000000000000000", "--allow-private-scan", "http://127.0.0.1:1/"},
	} {
		data := filepath.Join(base, "typo-"+strconv.Itoa(i))
		_, err := runCmd(t, append(args, "--data", data)...)
		if !errors.Is(err, errNoData) {
			t.Errorf("crumb %v on a missing data directory: %v, want errNoData", args, err)
		}
		if _, serr := os.Stat(data); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("crumb %v created %s", args, data)
		}
	}
	// site add makes the directory, as the Quickstart has it.
	data := filepath.Join(base, "new")
	if _, err := runCmd(t, "site", "add", "--domain", "shop.example", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "site", "list", "--data", data); err != nil {
		t.Fatalf("site list after site add: %v", err)
	}
}
