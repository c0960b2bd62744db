package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"

	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/widget"
)

// testServer is a real server on a loopback port with real stores.
type testServer struct {
	url      string
	srv      *Server
	ledger   *ledger.Ledger
	sites    *account.Store
	receipts *consent.Receipts
	site     account.Site
	client   *http.Client
}

type testOption func(*Config)

func startServer(tb testing.TB, opts ...testOption) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "crumb.db"), 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	sites, err := account.Open(db)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Host: "crumb.test", CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	receipts, err := consent.LoadReceipts(filepath.Join(dir, "receipt.key"))
	if err != nil {
		tb.Fatal(err)
	}
	canonical := widget.DefaultConfig().Canonical()
	site, err := sites.CreateSite(account.Site{Name: "Shop", Domains: []string{"shop.example"}},
		account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{PublicURL: "http://" + ln.Addr().String(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg, Deps{Ledger: l, Sites: sites, Receipts: receipts})
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		l.Close()
		db.Close()
	})
	return &testServer{
		url: "http://" + ln.Addr().String(), srv: srv, ledger: l, sites: sites, receipts: receipts, site: site,
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

func (ts *testServer) do(tb testing.TB, method, path string, body []byte, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, data
}

// consentBody is a valid request for the test site, changed by edit.
func (ts *testServer) consentBody(edit func(m map[string]any)) []byte {
	m := map[string]any{
		"site": ts.site.ID, "url": "https://www.shop.example/checkout?x=1",
		"state":  map[string]bool{"necessary": true, "preferences": false, "statistics": true, "marketing": false},
		"method": "custom", "version": ts.site.Banner,
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestConsentProofRoundTrip(t *testing.T) {
	ts := startServer(t)
	resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil), "Content-Type", "text/plain;charset=UTF-8", "Origin", "https://www.shop.example")
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://www.shop.example" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	var cr consentResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		t.Fatal(err)
	}
	claims, err := ts.receipts.Verify(cr.Receipt)
	if err != nil || claims.ID != cr.ID || claims.Subject != ts.site.ID || claims.Index != cr.Index || !claims.State.Statistics {
		t.Fatalf("receipt %+v: %v", claims, err)
	}

	// The proof verifies offline with the published key, and its record is
	// what was posted, with the address anonymised.
	resp, body = ts.do(t, "GET", "/v1/proof/"+cr.ID, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("proof status %d: %s", resp.StatusCode, body)
	}
	proof, err := ledger.ParseProof(body)
	if err != nil {
		t.Fatal(err)
	}
	_, vkey := ts.do(t, "GET", "/v1/log-key", nil)
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(verifier); err != nil {
		t.Fatalf("proof does not verify: %v", err)
	}
	rec, err := consent.ParseRecord(proof.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	if rec.IP != "127.0.0.0" || rec.URL != "https://www.shop.example/checkout?x=1" || rec.Method != "custom" || rec.Version != ts.site.Banner {
		t.Fatalf("record %+v", rec)
	}
	if base64.StdEncoding.EncodeToString(proof.LeafHash) != claims.LeafHash {
		t.Fatal("receipt leaf hash differs from the proof's")
	}

	// tlog-proof format, checkpoint, consistency.
	resp, body = ts.do(t, "GET", "/v1/proof/"+cr.ID+"?format=tlog-proof", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "c2sp.org/tlog-proof@v1\n") {
		t.Fatalf("tlog-proof %d: %s", resp.StatusCode, body)
	}
	resp, cp1 := ts.do(t, "GET", "/v1/sites/"+ts.site.ID+"/checkpoint", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("checkpoint %d: %s", resp.StatusCode, cp1)
	}
	for i := 0; i < 3; i++ {
		if r, b := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil)); r.StatusCode != 201 {
			t.Fatalf("status %d: %s", r.StatusCode, b)
		}
	}
	var cp2 []byte
	for i := 0; i < 100; i++ { // the checkpoint timer runs every 50 ms
		_, cp2 = ts.do(t, "GET", "/v1/sites/"+ts.site.ID+"/checkpoint", nil)
		if _, size, _, err := ledger.ParseCheckpoint(cp2, verifier); err == nil && size == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, body = ts.do(t, "GET", "/v1/sites/"+ts.site.ID+"/consistency?from=1&to=4", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("consistency %d: %s", resp.StatusCode, body)
	}
	var cons struct {
		From, To uint64
		Proof    [][]byte
	}
	if err := json.Unmarshal(body, &cons); err != nil {
		t.Fatal(err)
	}
	hashes := make([]tlog.Hash, len(cons.Proof))
	for i, h := range cons.Proof {
		copy(hashes[i][:], h)
	}
	if err := ledger.VerifyConsistency(verifier, cp1, cp2, hashes); err != nil {
		t.Fatalf("consistency proof: %v", err)
	}

	// The receipt verification endpoint agrees with the ledger.
	resp, body = ts.do(t, "POST", "/v1/receipts/verify", []byte(`{"receipt":"`+cr.Receipt+`"}`))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"valid":true`) {
		t.Fatalf("verify receipt %d: %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "POST", "/v1/receipts/verify", []byte(`{"receipt":"`+cr.Receipt[:len(cr.Receipt)-4]+`AAAA"}`))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"valid":false`) {
		t.Fatalf("verify forged receipt %d: %s", resp.StatusCode, body)
	}
	resp, body = ts.do(t, "GET", "/.well-known/jwks.json", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, ts.receipts.JWKS()) {
		t.Fatalf("jwks %d: %s", resp.StatusCode, body)
	}
}

func TestConsentNonceIsIdempotent(t *testing.T) {
	ts := startServer(t)
	body := ts.consentBody(func(m map[string]any) { m["nonce"] = "retry-me-0123456789" })
	var first consentResponse
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	ids := make([]string, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, data := ts.do(t, "POST", "/v1/consent", body)
			var cr consentResponse
			json.Unmarshal(data, &cr)
			statuses[i], ids[i] = resp.StatusCode, cr.ID
		}()
	}
	wg.Wait()
	created := 0
	for i, st := range statuses {
		if st == 201 {
			created++
		} else if st != 200 {
			t.Fatalf("status %d", st)
		}
		if ids[i] != ids[0] {
			t.Fatalf("replays answered with different ids: %v", ids)
		}
	}
	if created != 1 || ts.ledger.Size(ts.site.ID) != 1 {
		t.Fatalf("%d created, tree size %d: a nonce must never make a second leaf", created, ts.ledger.Size(ts.site.ID))
	}
	resp, data := ts.do(t, "POST", "/v1/consent", body)
	json.Unmarshal(data, &first)
	if resp.StatusCode != 200 || first.ID != ids[0] {
		t.Fatalf("later replay: %d %s", resp.StatusCode, data)
	}
	if _, err := ts.receipts.Verify(first.Receipt); err != nil {
		t.Fatalf("replayed receipt: %v", err)
	}
}

func TestConsentRejectsBadInput(t *testing.T) {
	ts := startServer(t)
	other, err := ts.sites.CreateSite(account.Site{Domains: []string{"other.example"}}, account.Banner{Version: "vother", Config: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte { return ts.consentBody(f) }
	cases := []struct {
		name   string
		body   []byte
		header []string
		status int
		msg    string
	}{
		{"bad json", []byte(`{"site":`), nil, 400, "bad JSON"},
		{"not an object", []byte(`"hello"`), nil, 400, "JSON object"},
		{"unknown field", edit(func(m map[string]any) { m["ip"] = "1.2.3.4" }), nil, 400, "unknown field"},
		{"wrong type", edit(func(m map[string]any) { m["method"] = 3 }), nil, 400, "must be a string"},
		{"bad method", edit(func(m map[string]any) { m["method"] = "sure" }), nil, 400, "method must be"},
		{"accept_all with denial", edit(func(m map[string]any) { m["method"] = "accept_all" }), nil, 400, "accept_all"},
		{"url off site", edit(func(m map[string]any) { m["url"] = "https://evil.example/" }), nil, 400, "not on the site's domains"},
		{"url lookalike", edit(func(m map[string]any) { m["url"] = "https://shop.example.evil.test/" }), nil, 400, "not on the site's domains"},
		{"javascript url", edit(func(m map[string]any) { m["url"] = "javascript:alert(1)" }), nil, 400, "http or https"},
		{"unknown version", edit(func(m map[string]any) { m["version"] = "vnever" }), nil, 400, "unknown banner version"},
		{"other site's version", edit(func(m map[string]any) { m["version"] = "vother" }), nil, 400, "unknown banner version"},
		{"unknown site", edit(func(m map[string]any) { m["site"] = "nosuchsite" }), nil, 404, "not found"},
		{"foreign origin", edit(nil), []string{"Origin", "https://evil.example"}, 403, "origin"},
		{"origin of another site", edit(nil), []string{"Origin", "https://other.example"}, 403, "origin"},
		{"null origin", edit(nil), []string{"Origin", "null"}, 403, "origin"},
		{"oversized", edit(func(m map[string]any) { m["url"] = "https://shop.example/" + strings.Repeat("a", 9000) }), nil, 413, "body over"},
		{"wrong content type", edit(nil), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "content type"},
		{"replaces unknown consent", edit(func(m map[string]any) { m["replaces"] = "AAAAAAAAAAAAAAAAAAAAAA" }), nil, 400, "replaces names no consent"},
		{"nul bytes", []byte("{\"site\":\"\x00\"}"), nil, 400, "bad JSON"},
		{"deep nesting", []byte(strings.Repeat(`{"state":`, 800)), nil, 400, ""},
	}
	_ = other
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, "POST", "/v1/consent", tc.body, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Fatalf("error body is not {\"error\":…}: %s", body)
			}
			if !strings.Contains(e.Error, tc.msg) {
				t.Errorf("error %q does not mention %q", e.Error, tc.msg)
			}
			if n := ts.ledger.Size(ts.site.ID) + ts.ledger.Size(other.ID); n != 0 {
				t.Fatalf("bad input reached the ledger: size %d", n)
			}
		})
	}
}

func TestReplacesMustNameAConsentOfTheSameSite(t *testing.T) {
	ts := startServer(t)
	resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var first consentResponse
	json.Unmarshal(body, &first)
	withdraw := func(m map[string]any) {
		m["method"], m["replaces"] = "withdraw", first.ID
		m["state"] = map[string]bool{"necessary": true, "preferences": false, "statistics": false, "marketing": false}
	}
	if resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(withdraw)); resp.StatusCode != 201 {
		t.Fatalf("withdrawal: %d %s", resp.StatusCode, body)
	}
	// Another site cannot point at this site's consent.
	canonical := widget.DefaultConfig().Canonical()
	other, _ := ts.sites.CreateSite(account.Site{Domains: []string{"other.example"}}, account.Banner{Version: widget.VersionOf(canonical), Config: canonical})
	body = ts.consentBody(func(m map[string]any) {
		withdraw(m)
		m["site"], m["url"], m["version"] = other.ID, "https://other.example/", other.Banner
	})
	if resp, b := ts.do(t, "POST", "/v1/consent", body); resp.StatusCode != 400 || ts.ledger.Size(other.ID) != 0 {
		t.Fatalf("cross-site replaces: %d %s", resp.StatusCode, b)
	}
}

func TestPublicEndpointsRejectBadInput(t *testing.T) {
	ts := startServer(t)
	cases := []struct {
		method, path string
		body         string
		status       int
	}{
		{"GET", "/v1/proof/nosuchconsentid000000", "", 404},
		{"GET", "/v1/proof/" + strings.Repeat("x", 500), "", 404},
		{"GET", "/v1/proof/%00%ff", "", 404},
		{"GET", "/v1/proof/abc?format=xml", "", 404},
		{"GET", "/v1/sites/nosuchsite/checkpoint", "", 404},
		{"GET", "/v1/sites/" + ts.site.ID + "/checkpoint", "", 404}, // nothing signed yet
		{"GET", "/v1/sites/" + ts.site.ID + "/consistency?from=a&to=2", "", 400},
		{"GET", "/v1/sites/" + ts.site.ID + "/consistency?from=3&to=2", "", 400},
		{"GET", "/v1/sites/" + ts.site.ID + "/consistency?from=-1&to=99999999999999999999", "", 400},
		{"GET", "/v1/sites/nosuchsite/widget.js", "", 404},
		{"GET", "/v1/sites/nosuchsite/config", "", 404},
		{"POST", "/v1/receipts/verify", `{"receipt":1}`, 400},
		{"POST", "/v1/receipts/verify", `{"receipt":"x","extra":1}`, 400},
		{"POST", "/v1/receipts/verify", strings.Repeat("x", 9000), 413},
		{"GET", "/v1/nothing-here", "", 404},
		{"DELETE", "/v1/consent", "", 405},
	}
	for _, tc := range cases {
		resp, body := ts.do(t, tc.method, tc.path, []byte(tc.body))
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, body)
			continue
		}
		if !json.Valid(body) || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s: body %s is not a JSON error", tc.method, tc.path, body)
		}
	}
}

func TestConsentPreflight(t *testing.T) {
	ts := startServer(t)
	resp, _ := ts.do(t, "OPTIONS", "/v1/consent", nil, "Origin", "https://shop.example", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = ts.do(t, "OPTIONS", "/v1/consent", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight %d %v", resp.StatusCode, resp.Header)
	}
}

func TestRateLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RateLimit = 2 })
	var limited *http.Response
	for i := 0; i < 10 && limited == nil; i++ {
		resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
		switch resp.StatusCode {
		case 201:
		case 429:
			limited = resp
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	if limited == nil {
		t.Fatal("10 consents at once from one address were all accepted with a limit of 2/s")
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if n := ts.ledger.Size(ts.site.ID); n < 2 || n >= 10 {
		t.Fatalf("tree size %d", n)
	}
}

func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	cases := []struct {
		name  string
		trust []netip.Prefix
		xff   string
		want  string
	}{
		{"no proxy trusted: header ignored", nil, "198.51.100.7", "127.0.0.0"},
		{"trusted proxy: right-most untrusted hop", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9, 198.51.100.7", "198.51.100.0"},
		{"trusted chain skipped", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}, "198.51.100.7, 10.1.2.3", "198.51.100.0"},
		{"other proxy not trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "198.51.100.7", "127.0.0.0"},
		{"junk header", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "not-an-ip", "127.0.0.0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.TrustProxy = tc.trust })
			resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil), "X-Forwarded-For", tc.xff)
			if resp.StatusCode != 201 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var cr consentResponse
			json.Unmarshal(body, &cr)
			p, err := ts.ledger.Proof(context.Background(), cr.ID)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := consent.ParseRecord(p.Leaf)
			if rec.IP != tc.want {
				t.Fatalf("recorded ip %q, want %q", rec.IP, tc.want)
			}
		})
	}
}

// TestMetricsAccess: /metrics answers loopback by default, the networks
// Config.MetricsAllow names otherwise, and judges a proxied request by the
// forwarded address only when the proxy is trusted.
func TestMetricsAccess(t *testing.T) {
	for _, tc := range []struct {
		name      string
		allow     []string
		trust     []string
		forwarded string
		want      int
	}{
		{name: "loopback by default", want: 200},
		{name: "forged X-Forwarded-For without a trusted proxy", forwarded: "203.0.113.9", want: 200},
		{name: "behind a trusted proxy, an outside client", trust: []string{"127.0.0.0/8"}, forwarded: "203.0.113.9", want: 403},
		{name: "behind a trusted proxy, an allowed client", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.0/8"}, forwarded: "203.0.113.9", want: 200},
		{name: "loopback not among the allowed", allow: []string{"192.0.2.0/24"}, want: 403},
		{name: "allowed everywhere", allow: []string{"0.0.0.0/0", "::/0"}, want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				for _, a := range tc.allow {
					c.MetricsAllow = append(c.MetricsAllow, netip.MustParsePrefix(a))
				}
				for _, p := range tc.trust {
					c.TrustProxy = append(c.TrustProxy, netip.MustParsePrefix(p))
				}
			})
			var header []string
			if tc.forwarded != "" {
				header = []string{"X-Forwarded-For", tc.forwarded}
			}
			resp, body := ts.do(t, "GET", "/metrics", nil, header...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 200 && !strings.Contains(string(body), "crumb_ledger_batch_size") {
				t.Errorf("no metrics in the answer: %.200s", body)
			}
			if tc.want == 403 && (strings.Contains(string(body), "crumb_") || !strings.Contains(string(body), `"error"`)) {
				t.Errorf("refusal carries metrics or no JSON error: %.200s", body)
			}
		})
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts := startServer(t)
	ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
	ts.srv.ObserveCommit(3, time.Millisecond)
	resp, body := ts.do(t, "GET", "/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	resp, body = ts.do(t, "GET", "/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics %d", resp.StatusCode)
	}
	for _, want := range []string{
		`crumb_http_requests_total{code="201",route="/v1/consent"} 1`,
		`crumb_consents_total{method="custom",result="appended"} 1`,
		`crumb_ledger_batch_size_count 1`,
		`crumb_ledger_commit_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "127.0.0.1") {
		t.Error("metrics contain a raw address")
	}
}

func TestShutdownDrainsInFlightAppends(t *testing.T) {
	ts := startServer(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := ts.client.Post(ts.url+"/v1/consent", "application/json", bytes.NewReader(ts.consentBody(nil)))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var cr consentResponse
			if resp.StatusCode == 201 && json.NewDecoder(resp.Body).Decode(&cr) == nil {
				mu.Lock()
				acked = append(acked, cr.ID)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	// Generous: net/http's client may dial a spare connection that never
	// carries a request, and fasthttp counts a new connection as idle (and
	// closes it) only after 5 s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, id := range acked {
		if _, err := ts.ledger.Proof(context.Background(), id); err != nil {
			t.Fatalf("acknowledged consent %s lost: %v", id, err)
		}
	}
	if got := int(ts.ledger.Size(ts.site.ID)); got < len(acked) {
		t.Fatalf("tree size %d < %d acknowledged", got, len(acked))
	}
}
