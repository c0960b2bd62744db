package main

import (
	"io"
	"testing"
)

// TestProbe runs every variant small and checks what the probe is about:
// the random-key indexes make a commit write more pages per append than
// the sequential buckets alone, the lsm nonce index (one cycle of a small
// generation, merges included) less than the raw one, and every variant
// wrote something.
func TestProbe(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	res, err := run(io.Discard, nil, 4000, 64, 5, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(variants) {
		t.Fatalf("%d results for %d variants", len(res), len(variants))
	}
	by := map[string]result{}
	for _, r := range res {
		if r.kibPerAppend <= 0 || r.appendsPerSec <= 0 {
			t.Errorf("%s: nothing measured: %+v", r.name, r)
		}
		by[r.name] = r
	}
	full, seq := by[variants[0].name], by[variants[2].name]
	if full.kibPerAppend <= seq.kibPerAppend {
		t.Errorf("ledger layout writes %.2f KiB/append, sequential buckets alone %.2f: expected more with random-key indexes",
			full.kibPerAppend, seq.kibPerAppend)
	}
	raw, lsm := by["newid: h, l, idseq, raw nonces"], by["newid, lsm nonces"]
	if lsm.commits < 1024/64 || lsm.kibPerAppend >= raw.kibPerAppend {
		t.Errorf("lsm nonces: %.2f KiB/append over %d commits, raw nonces %.2f: expected less over a whole cycle",
			lsm.kibPerAppend, lsm.commits, raw.kibPerAppend)
	}
}
