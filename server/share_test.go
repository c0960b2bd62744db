package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/widget"
)

// addSite registers a site on ts's stores with the default banner, sharing
// or not.
func (ts *testServer) addSite(tb testing.TB, site account.Site, share bool) account.Site {
	tb.Helper()
	cfg := widget.DefaultConfig()
	cfg.ShareConsent = share
	canonical := cfg.Canonical()
	s, err := ts.sites.CreateSite(site, account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// postConsent records an accept-all consent on site and returns its id.
func (ts *testServer) postConsent(tb testing.TB, site account.Site, edit func(map[string]any)) (int, map[string]any) {
	tb.Helper()
	m := map[string]any{
		"site": site.ID, "url": "https://" + site.Domains[0] + "/",
		"state":  map[string]bool{"necessary": true, "preferences": true, "statistics": true, "marketing": false},
		"method": "custom", "version": site.Banner,
	}
	if edit != nil {
		edit(m)
	}
	body, _ := json.Marshal(m)
	resp, data := ts.do(tb, "POST", "/v1/consent", body, "Content-Type", "application/json")
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

type shareFixture struct {
	ts                          *testServer
	a, b, otherAccount, nonShar account.Site
}

func newShareFixture(t *testing.T) *shareFixture {
	ts := startServer(t)
	return &shareFixture{
		ts:           ts,
		a:            ts.addSite(t, account.Site{Name: "A", Domains: []string{"shop-a.example"}, Account: "acme"}, true),
		b:            ts.addSite(t, account.Site{Name: "B", Domains: []string{"shop-b.example", "www.shop-b.example"}, Account: "acme"}, true),
		otherAccount: ts.addSite(t, account.Site{Name: "C", Domains: []string{"shop-c.example"}, Account: "globex"}, true),
		nonShar:      ts.addSite(t, account.Site{Name: "D", Domains: []string{"shop-d.example"}, Account: "acme"}, false),
	}
}

func TestWidgetNamesTheAccountsSharingSites(t *testing.T) {
	f := newShareFixture(t)
	for _, tc := range []struct {
		site       account.Site
		want, dont []string
	}{
		{f.a, []string{"shop-b.example", "www.shop-b.example"}, []string{"shop-c.example", "shop-d.example", `"shop-a.example"`}},
		{f.b, []string{"shop-a.example"}, []string{"shop-c.example", "shop-d.example"}},
		{f.otherAccount, nil, []string{"shop-a.example", "shop-b.example", "shop-d.example"}},
		{f.nonShar, nil, []string{"shop-a.example", "shop-b.example", "shop-c.example"}},
	} {
		resp, js := f.ts.do(t, "GET", "/v1/sites/"+tc.site.ID+"/widget.js", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: widget.js %d", tc.site.Name, resp.StatusCode)
		}
		for _, d := range tc.want {
			if !strings.Contains(string(js), d) {
				t.Errorf("%s: widget.js does not name %s", tc.site.Name, d)
			}
		}
		for _, d := range tc.dont {
			if strings.Contains(string(js), d) {
				t.Errorf("%s: widget.js names %s", tc.site.Name, d)
			}
		}
	}
}

func TestSharedConsentLookup(t *testing.T) {
	f := newShareFixture(t)
	status, out := f.ts.postConsent(t, f.a, nil)
	if status != 201 {
		t.Fatalf("consent on A: %d %v", status, out)
	}
	id := out["id"].(string)
	status, onD := f.ts.postConsent(t, f.nonShar, nil)
	if status != 201 {
		t.Fatalf("consent on D: %d %v", status, onD)
	}

	resp, data := f.ts.do(t, "GET", "/v1/sites/"+f.b.ID+"/shared/"+id, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("B looks up A's consent: %d %s", resp.StatusCode, data)
	}
	var got sharedConsent
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := consent.State{Necessary: true, Preferences: true, Statistics: true}
	if got.ID != id || got.Site != f.a.ID || got.State != want || got.Method != "custom" || got.Time == "" {
		t.Errorf("shared consent %+v", got)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	for _, tc := range []struct{ name, path string }{
		{"other account", "/v1/sites/" + f.otherAccount.ID + "/shared/" + id},
		{"asking site does not share", "/v1/sites/" + f.nonShar.ID + "/shared/" + id},
		{"source site does not share", "/v1/sites/" + f.a.ID + "/shared/" + onD["id"].(string)},
		{"own consent", "/v1/sites/" + f.a.ID + "/shared/" + id},
		{"unknown id", "/v1/sites/" + f.b.ID + "/shared/AAAAAAAAAAAAAAAAAAAAAA"},
		{"junk id", "/v1/sites/" + f.b.ID + "/shared/%3Cscript%3E"},
		{"oversized id", "/v1/sites/" + f.b.ID + "/shared/" + strings.Repeat("a", 5000)},
		{"unknown site", "/v1/sites/nosuchsite/shared/" + id},
	} {
		resp, data := f.ts.do(t, "GET", tc.path, nil)
		if resp.StatusCode != 404 && !(tc.name == "oversized id" && resp.StatusCode == 431) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, data)
		}
	}
}

func TestSharedConsentExpires(t *testing.T) {
	f := newShareFixture(t)
	a := f.a
	a.ConsentLifetimeDays = 1
	short, err := f.ts.sites.UpdateSite(a)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-49 * time.Hour)
	rec := consent.NewRecord(consent.Request{
		URL: "https://shop-a.example/", Method: "accept_all", Version: short.Banner,
		State: consent.State{Necessary: true, Preferences: true, Statistics: true, Marketing: true},
	}, consent.NewID(), short.ID, old, "192.0.2.0", "")
	if _, err := f.ts.ledger.Append(context.Background(), ledger.Entry{Log: short.ID, ID: rec.ID, Time: old, Leaf: rec.Marshal()}); err != nil {
		t.Fatal(err)
	}
	resp, data := f.ts.do(t, "GET", "/v1/sites/"+f.b.ID+"/shared/"+rec.ID, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an expired consent is shared: %d %s", resp.StatusCode, data)
	}
}

func TestConsentSharedFrom(t *testing.T) {
	f := newShareFixture(t)
	status, out := f.ts.postConsent(t, f.a, nil)
	if status != 201 {
		t.Fatalf("consent on A: %d %v", status, out)
	}
	id := out["id"].(string)
	size := f.ts.ledger.Size(f.b.ID)
	for _, tc := range []struct {
		name string
		site account.Site
		edit func(map[string]any)
	}{
		{"other state", f.b, func(m map[string]any) {
			m["shared_from"] = id
			m["state"] = map[string]bool{"necessary": true, "preferences": true, "statistics": true, "marketing": true}
		}},
		{"unknown id", f.b, func(m map[string]any) { m["shared_from"] = "AAAAAAAAAAAAAAAAAAAAAA" }},
		{"bad id", f.b, func(m map[string]any) { m["shared_from"] = "not an id!" }},
		{"wrong type", f.b, func(m map[string]any) { m["shared_from"] = 7 }},
		{"site that does not share", f.nonShar, func(m map[string]any) { m["shared_from"] = id }},
		{"other account", f.otherAccount, func(m map[string]any) { m["shared_from"] = id }},
	} {
		if status, out := f.ts.postConsent(t, tc.site, tc.edit); status != 400 {
			t.Errorf("%s: %d %v", tc.name, status, out)
		}
	}
	if got := f.ts.ledger.Size(f.b.ID); got != size {
		t.Fatalf("refused consents reached B's log: size %d → %d", size, got)
	}

	status, onB := f.ts.postConsent(t, f.b, func(m map[string]any) { m["shared_from"] = id })
	if status != 201 {
		t.Fatalf("shared consent on B: %d %v", status, onB)
	}
	p, err := f.ts.ledger.Proof(context.Background(), onB["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := consent.ParseRecord(p.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SharedFrom != id || rec.Site != f.b.ID {
		t.Errorf("B's record %+v does not name A's consent %s", rec, id)
	}
}
