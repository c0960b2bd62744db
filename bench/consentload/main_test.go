package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunLoad runs the whole tool briefly with a few clients against the
// three targets: every request must succeed and every phase must count some.
// Speed is not asserted here; the figures are for `go run`.
func TestRunLoad(t *testing.T) {
	var serverLog bytes.Buffer
	rep, err := runLoad(context.Background(), Options{
		Clients: 8, Duration: 600 * time.Millisecond, Rounds: 2, Warmup: 200 * time.Millisecond, ServerLog: &serverLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	if serverLog.Len() > 0 {
		t.Errorf("the real server logged errors:\n%s", serverLog.String())
	}
	if len(rep.Results) != 6 {
		t.Fatalf("%d results, want 6 (three targets × two phases)", len(rep.Results))
	}
	for _, res := range rep.Results {
		if res.Errors != 0 {
			t.Errorf("%s %s: %d errors: %v", res.Target, res.Phase, res.Errors, res.ErrorSamples)
		}
		if res.Rounds != 2 || res.Requests == 0 || res.RPS <= 0 || res.P99 <= 0 || res.P50 > res.P99 || res.CPUPerReq <= 0 {
			t.Errorf("%s %s: implausible figures %+v", res.Target, res.Phase, res)
		}
	}
	// Every acknowledged real consent is one leaf: the tree holds at least
	// the counted ones.
	if c := rep.result("real", "consent"); rep.TreeSize < uint64(c.Requests) {
		t.Errorf("tree size %d < %d acknowledged consents", rep.TreeSize, c.Requests)
	}
	if rep.Ledger.Commits == 0 || rep.Ledger.MeanBatch < 1 {
		t.Errorf("no group commits observed in the consent window: %+v", rep.Ledger)
	}

	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"real       consent", "no-storage proof", "empty      proof", "real/no-storage consent", "real/empty      proof", "mean batch", "goal (issue 2"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestConsentBodyIsValidAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	methods := map[string]bool{}
	for w := range 3 {
		for seq := range uint64(8) {
			body := consentBody(nil, "site_1", "v1", "prefix123456", w, seq)
			var req struct {
				Site, URL, Method, Version, Nonce string
				State                             map[string]bool
			}
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if seen[req.Nonce] || len(req.Nonce) < 16 || len(req.Nonce) > 64 {
				t.Fatalf("nonce %q repeated or of bad length", req.Nonce)
			}
			seen[req.Nonce] = true
			methods[req.Method] = true
			if !req.State["necessary"] || req.Site != "site_1" || req.Version != "v1" {
				t.Fatalf("bad body %s", body)
			}
		}
	}
	if len(methods) != 4 {
		t.Errorf("methods %v, want four variants", methods)
	}
	var req map[string]any
	if err := json.Unmarshal(consentBody(nil, "site_1", "v1", "", 0, 0), &req); err != nil {
		t.Fatal(err)
	}
	if _, ok := req["nonce"]; ok {
		t.Errorf("body without a nonce prefix has a nonce: %v", req)
	}
}

func TestJSONStringField(t *testing.T) {
	for _, tc := range []struct {
		body, want string
		ok         bool
	}{
		{`{"id":"abc","index":1}`, "abc", true},
		{`{"index":1}`, "", false},
		{`{"id":""}`, "", false},
		{`{"id":"abc`, "", false},
	} {
		got, ok := jsonStringField([]byte(tc.body), idKey)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jsonStringField(%s) = %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}
