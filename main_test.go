package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/account"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(vars map[string]string) (*Env, *syncBuffer, *syncBuffer) {
	var out, errOut syncBuffer
	return &Env{
		Getenv: func(k string) string { return vars[k] },
		Stdin:  strings.NewReader(""),
		Stdout: &out, Stderr: &errOut,
	}, &out, &errOut
}

// runCmd runs one command to completion and returns its stdout.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env, out, errOut := testEnv(nil)
	err := run(context.Background(), env, args)
	if err != nil {
		t.Logf("crumb %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out.String(), err
}

// startServe runs `crumb serve` in-process on a loopback port until the test ends.
func startServe(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	env, _, errOut := testEnv(map[string]string{"CRUMB_RATE_LIMIT": "0"})
	env.Ready = ready
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--public-url", "http://crumb.test"})
	}()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v\n%s", err, errOut)
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, errOut)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", errOut)
	}
	return ""
}

func addSite(t *testing.T, data string) string {
	t.Helper()
	out, err := runCmd(t, "site", "add", "--domain", "shop.example", "--domain", "https://Blog.Example/", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func siteVersion(t *testing.T, data, id string) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(data, crumbDBFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := account.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CurrentBanner(id)
	if err != nil {
		t.Fatal(err)
	}
	return b.Version
}

func postConsent(t *testing.T, base, site, version, marker string) string {
	t.Helper()
	body := `{"site":"` + site + `","url":"https://shop.example/` + marker + `","state":{"necessary":true,"preferences":true,"statistics":true,"marketing":true},"method":"accept_all","version":"` + version + `"}`
	resp, err := http.Post(base+"/v1/consent", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cr struct{ ID string }
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || json.Unmarshal(data, &cr) != nil {
		t.Fatalf("consent: %d %s", resp.StatusCode, data)
	}
	return cr.ID
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, data)
	}
	return data
}

func TestServeSiteVerifyBackup(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	site := addSite(t, data)
	if len(site) != 16 {
		t.Fatalf("site add printed %q as the id", site)
	}
	version := siteVersion(t, data, site)
	base := startServe(t, data)

	// With the server running, site add goes through its admin socket, and
	// the new site is served at once.
	added, err := runCmd(t, "site", "add", "--domain", "x.example", "--data", data)
	if err != nil {
		t.Fatalf("site add with the server running: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(added), "\n")
	get(t, base+"/v1/sites/"+lines[len(lines)-1]+"/widget.js")

	id := postConsent(t, base, site, version, "verify-me")
	dir := t.TempDir()
	proofFile := filepath.Join(dir, "proof.json")
	keyFile := filepath.Join(dir, "crumb.vkey")
	os.WriteFile(proofFile, get(t, base+"/v1/proof/"+id), 0o600)
	os.WriteFile(keyFile, get(t, base+"/v1/log-key"), 0o600)
	out, err := runCmd(t, "verify", "--key", keyFile, proofFile)
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("verify: %v %s", err, out)
	}
	// The key may be given as text too.
	key, _ := os.ReadFile(keyFile)
	if _, err := runCmd(t, "verify", "--key", strings.TrimSpace(string(key)), proofFile); err != nil {
		t.Fatalf("verify with key text: %v", err)
	}

	// A tampered proof fails, and so does a proof checked with another key.
	proof, _ := os.ReadFile(proofFile)
	var m map[string]any
	json.Unmarshal(proof, &m)
	m["index"] = m["index"].(float64) + 1
	tampered, _ := json.Marshal(m)
	os.WriteFile(proofFile+".bad", tampered, 0o600)
	if _, err := runCmd(t, "verify", "--key", keyFile, proofFile+".bad"); err == nil {
		t.Fatal("verify accepted a tampered proof")
	}
	otherKey := "crumb.test+00000000+AcmDeoRS2X0iY4nE5xXbx/rHHdUxyfa9CWHb9ssP3r7m"
	if _, err := runCmd(t, "verify", "--key", otherKey, proofFile); err == nil {
		t.Fatal("verify accepted a proof under another key")
	}
	os.WriteFile(proofFile+".junk", []byte("{not json"), 0o600)
	if _, err := runCmd(t, "verify", "--key", keyFile, proofFile+".junk"); err == nil {
		t.Fatal("verify accepted junk")
	}

	// A hot backup goes through the running server and holds both stores
	// and the keys.
	backup := filepath.Join(dir, "backup.tar")
	if _, err := runCmd(t, "backup", "--data", data, backup); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, backup)
	for _, want := range []string{"crumb.db", "ledger.db", "ledger.key", "ledger.keys", "receipt.key"} {
		if !names[want] {
			t.Errorf("backup lacks %s (has %v)", want, names)
		}
	}
	if fi, _ := os.Stat(backup); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v: it holds keys", fi.Mode())
	}

	// Restored elsewhere, the backup serves the same proof.
	restored := filepath.Join(t.TempDir(), "restored")
	untar(t, backup, restored)
	base2 := startServe(t, restored)
	p2 := get(t, base2+"/v1/proof/"+id)
	var a, b struct{ Leaf []byte }
	json.Unmarshal(proof, &a)
	json.Unmarshal(p2, &b)
	if !bytes.Equal(a.Leaf, b.Leaf) || len(a.Leaf) == 0 {
		t.Fatal("restored backup does not hold the consent")
	}
}

func TestEraseExpiredCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	site := addSite(t, data)
	version := siteVersion(t, data, site)
	base := startServe(t, data)
	id := postConsent(t, base, site, version, "erase-marker-7f3a9c")

	// Through the running server: nothing is old enough yet…
	out, err := runCmd(t, "erase-expired", "--data", data)
	if err != nil || !strings.Contains(out, "erased 0 records") {
		t.Fatalf("erase-expired now: %v %q", err, out)
	}
	// …but 400 days later it is.
	out, err = runCmd(t, "erase-expired", "--data", data, "--as-of", time.Now().AddDate(0, 0, 400).Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "erased 1 records") {
		t.Fatalf("erase-expired later: %v %q", err, out)
	}
	var p struct {
		Leaf     []byte
		ErasedAt string `json:"erased_at"`
	}
	json.Unmarshal(get(t, base+"/v1/proof/"+id), &p)
	if p.Leaf != nil || p.ErasedAt == "" {
		t.Fatalf("proof after erasure still has the leaf or no erased_at: %+v", p)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{},
		{"nope"},
		{"site"},
		{"site", "add"},
		{"site", "list", "extra"},
		{"verify"},
		{"verify", "--key", "x"},
		{"serve", "--rate-limit", "-1"},
		{"serve", "--trust-proxy", "not-a-cidr"},
		{"serve", "--metrics-allow", "10.0.0.0/33"},
		{"serve", "--addr", "nocolon"},
		{"serve", "--addr", "127.0.0.1:0", "--public-url", "ftp://crumb.test"},
		{"serve", "--addr", "127.0.0.1:0", "--public-url", "crumb.test"},
		{"serve", "extra"},
		{"erase-expired", "--as-of", "yesterday"},
		{"backup"},
	}
	for _, args := range cases {
		env, _, _ := testEnv(nil)
		err := run(context.Background(), env, args)
		if !errors.Is(err, errUsage) {
			t.Errorf("crumb %v: %v, want a usage error", args, err)
		}
	}
}

func TestFlagsReadEnvironmentTwins(t *testing.T) {
	env, _, _ := testEnv(map[string]string{"CRUMB_RATE_LIMIT": "7", "CRUMB_TRUST_PROXY": "10.0.0.0/8,192.0.2.1", "CRUMB_ADDR": "127.0.0.1:9999", "CRUMB_METRICS_ALLOW": "10.1.2.0/24"})
	cfg, err := parseServeConfig(env, []string{"--addr", "127.0.0.1:1234"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit != 7 || len(cfg.TrustProxy) != 2 || cfg.TrustProxy[1].String() != "192.0.2.1/32" ||
		len(cfg.MetricsAllow) != 1 || cfg.MetricsAllow[0].String() != "10.1.2.0/24" {
		t.Fatalf("environment not read: %+v", cfg)
	}
	if cfg.Addr != "127.0.0.1:1234" || cfg.PublicURL != "http://localhost:1234" {
		t.Fatalf("command line must win over the environment: %+v", cfg)
	}
	// A list flag on the command line replaces its twin: an operator's
	// --trust-proxy must not keep trusting the environment's proxies too.
	cfg, err = parseServeConfig(env, []string{"--trust-proxy", "192.0.2.0/24", "--metrics-allow", "198.51.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustProxy) != 1 || cfg.TrustProxy[0].String() != "192.0.2.0/24" ||
		len(cfg.MetricsAllow) != 1 || cfg.MetricsAllow[0].String() != "198.51.100.0/24" {
		t.Fatalf("list flags on the command line merged with the environment: trust %v, metrics %v", cfg.TrustProxy, cfg.MetricsAllow)
	}
	env, _, _ = testEnv(map[string]string{"CRUMB_RATE_LIMIT": "lots"})
	if _, err := parseServeConfig(env, nil); !errors.Is(err, errUsage) {
		t.Fatalf("bad CRUMB_RATE_LIMIT: %v", err)
	}
	// A bad twin is no error when the command line sets the flag.
	if _, err := parseServeConfig(env, []string{"--rate-limit", "3"}); err != nil {
		t.Fatalf("bad CRUMB_RATE_LIMIT under --rate-limit 3: %v", err)
	}
}

// TestHelpExitsZero: asking a command for its help is not a failure.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"serve", "-h"}, {"site", "add", "--help"}, {"scan", "-h"}} {
		env, _, stderr := testEnv(nil)
		err := run(context.Background(), env, args)
		if code := exitCode(err); err != nil && code != 0 {
			t.Errorf("crumb %v: exit %d (%v)", args, code, err)
		}
		if !strings.Contains(stderr.String(), "-") {
			t.Errorf("crumb %v printed no help: %q", args, stderr.String())
		}
	}
	if code := exitCode(errUsage); code != 2 {
		t.Errorf("usage error exits %d, want 2", code)
	}
}

func tarNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
}

func untar(t *testing.T, path, dir string) {
	t.Helper()
	os.MkdirAll(dir, 0o700)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.Base(h.Name)), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(out, tr)
		out.Close()
	}
}
