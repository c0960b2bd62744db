package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/server"
)

// TestServeWithGeoIP: with a country database, the visitor's country (from
// a trusted proxy's X-Forwarded-For) picks the rule set.
func TestServeWithGeoIP(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	site := addSite(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	env, _, errOut := testEnv(nil)
	env.Ready = ready
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--public-url", "http://crumb.test",
			"--geoip", "geo/testdata/GeoLite2-Country-Test.mmdb", "--trust-proxy", "127.0.0.1"})
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, errOut)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() { cancel(); <-done })

	for visitor, want := range map[string]string{
		"2.0.1.2":   "opt-in",  // FR
		"3.0.1.2":   "opt-out", // US
		"1.0.0.9":   "notice",  // AU
		"192.0.2.1": "opt-in",  // not in the database: the strict default
	} {
		req, _ := http.NewRequest("GET", base+"/v1/sites/"+site+"/widget.js", nil)
		req.Header.Set("X-Forwarded-For", visitor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Crumb-Rule-Set"); got != want {
			t.Errorf("visitor %s: rule set %q, want %q", visitor, got, want)
		}
	}
}

func TestServeRefusesBadGeoIP(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env, _, _ := testEnv(nil)
	err := run(context.Background(), env, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--geoip", "main.go"})
	if err == nil || !strings.Contains(err.Error(), "--geoip") {
		t.Fatalf("serve with a bad --geoip file: %v", err)
	}
}

// TestServeSetsGCPercent: serve raises GOGC to server.GCPercent when the
// environment does not set it.
func TestServeSetsGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	startServe(t, filepath.Join(t.TempDir(), "data"))
	if got := debug.SetGCPercent(100); got != server.GCPercent {
		t.Errorf("GOGC while serving = %d, want %d", got, server.GCPercent)
	}
}

// TestServePortZeroNamesRealPort: with --addr on port 0 and no --public-url,
// the default URL and the ledger's key name take the port actually bound, not
// ":0", so the widget's URLs work and the next start on that port is accepted.
func TestServePortZeroNamesRealPort(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	env, _, errOut := testEnv(nil)
	env.Ready = ready
	done := make(chan error, 1)
	go func() { done <- run(ctx, env, []string{"serve", "--addr", "127.0.0.1:0", "--data", data}) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, errOut)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, errOut)
	}
	_, port, _ := net.SplitHostPort(addr)
	if port == "0" || port == "" {
		t.Fatalf("ready address %q", addr)
	}
	if name, err := ledger.KeyName(data); err != nil || name != "localhost:"+port {
		t.Errorf("ledger key name %q (%v), want localhost:%s", name, err, port)
	}
	if !strings.Contains(errOut.String(), "public_url=http://localhost:"+port) {
		t.Errorf("log does not name the bound port:\n%s", errOut)
	}
}
