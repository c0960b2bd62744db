package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// commitEntries runs entries as one group commit, straight through the
// writer's commit path, and returns each entry's result.
func commitEntries(tb testing.TB, l *Ledger, entries []Entry) []result {
	tb.Helper()
	day := uint32(dayOf(time.Now()))
	reqs := make([]*request, len(entries))
	for i, e := range entries {
		reqs[i] = &request{e: e, day: day, res: make(chan result, 1)}
	}
	l.commit(reqs)
	out := make([]result, len(reqs))
	for i, r := range reqs {
		out[i] = <-r.res
	}
	return out
}

// setGenSize makes l's nonce generations tiny, so tests see them roll over
// and merge.
func setGenSize(l *Ledger, n int) {
	l.batchMu.Lock()
	l.nonces.genSize = n
	l.batchMu.Unlock()
}

// nonceState counts the nonce index's parts on disk.
func nonceState(tb testing.TB, l *Ledger) (merged, inGens, gens int) {
	tb.Helper()
	err := l.view(func(tx *bolt.Tx) error {
		nb := tx.Bucket(bktNonceIdx)
		merged = nb.Bucket(bktMerged).Stats().KeyN
		return nb.Bucket(bktGens).ForEachBucket(func(k []byte) error {
			gens++
			inGens += nb.Bucket(bktGens).Bucket(k).Stats().KeyN
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return
}

// TestNonceGenerations drives the nonce index through many generations
// (40 entries each instead of 65536), with restarts in the middle of
// merges and a failed commit at a rollover: every nonce keeps answering
// with its first entry, memory stays within two generations, and every
// nonce is in a generation or in the merged index.
func TestNonceGenerations(t *testing.T) {
	const gen = 40
	dir := t.TempDir()
	l := mustOpen(t, dir)
	setGenSize(l, gen)
	r := rand.New(rand.NewPCG(1, 2))
	type first struct {
		log   string
		id    string
		index uint64
		leaf  []byte
	}
	firsts := map[string]first{} // nonce → its entry
	var nonces []string
	logs := []string{"na", "nb", "nc/scans"}
	maxBatch := 0
	check := func(when string) {
		t.Helper()
		ni := l.nonces
		if len(ni.fill) > gen+maxBatch || len(ni.merging) > gen+maxBatch {
			t.Fatalf("%s: %d + %d entries in memory, want at most 2 x %d", when, len(ni.fill), len(ni.merging), gen+maxBatch)
		}
		merged, inGens, gens := nonceState(t, l)
		if gens < 1 || gens > 2 || merged+inGens < len(firsts) || merged > len(firsts) {
			t.Fatalf("%s: %d merged + %d in %d generations for %d nonces", when, merged, inGens, gens, len(firsts))
		}
	}
	round := func(batch int) {
		t.Helper()
		maxBatch = max(maxBatch, batch)
		var entries []Entry
		for range batch {
			e := Entry{Log: logs[r.IntN(len(logs))], ID: l.NewID(), Leaf: fmt.Appendf(nil, "leaf %d", r.Uint64())}
			if r.IntN(3) == 0 {
				e.ID = newID()
			}
			if len(nonces) > 0 && r.IntN(4) == 0 {
				e.Nonce = nonces[r.IntN(len(nonces))] // a retry
				e.Log = firsts[e.Nonce].log
			} else {
				e.Nonce = fmt.Sprintf("nonce-%016x", r.Uint64())
			}
			entries = append(entries, e)
		}
		for i, res := range commitEntries(t, l, entries) {
			e := entries[i]
			if res.err != nil {
				t.Fatalf("append: %v", res.err)
			}
			f, seen := firsts[e.Nonce]
			if !seen {
				if res.a.Duplicate || res.a.ID != e.ID {
					t.Fatalf("new nonce %s answered %+v", e.Nonce, res.a)
				}
				firsts[e.Nonce] = first{e.Log, e.ID, res.a.Index, e.Leaf}
				nonces = append(nonces, e.Nonce)
				continue
			}
			if !res.a.Duplicate || res.a.ID != f.id || res.a.Index != f.index || !bytes.Equal(res.a.Leaf, f.leaf) {
				t.Fatalf("retried nonce %s answered %+v, want id %s index %d", e.Nonce, res.a, f.id, f.index)
			}
		}
	}
	for i := range 60 {
		round(1 + r.IntN(12))
		check(fmt.Sprintf("round %d", i))
	}

	// Restart while a generation is being merged.
	for l.nonces.merging == nil || l.nonces.mergePos == 0 {
		round(3)
	}
	mergeGen, mergePos := l.nonces.mergeGen, l.nonces.mergePos
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir)
	if l.nonces.merging == nil || l.nonces.mergeGen != mergeGen || l.nonces.mergePos != mergePos {
		t.Fatalf("merge of generation %d at %d not resumed: %d at %d", mergeGen, mergePos, l.nonces.mergeGen, l.nonces.mergePos)
	}
	setGenSize(l, gen)
	check("after restart")

	// A failed commit at a rollover changes nothing in memory.
	for len(l.nonces.fill) < gen {
		round(5)
	}
	fillGen, fillLen := l.nonces.fillGen, len(l.nonces.fill)
	l.batchMu.Lock()
	l.failApply = func(i int) error {
		if i == 2 {
			return errors.New("boom")
		}
		return nil
	}
	l.batchMu.Unlock()
	for _, res := range commitEntries(t, l, []Entry{
		{Log: "na", ID: l.NewID(), Nonce: "lost-nonce-000000000", Leaf: []byte("x")},
		{Log: "na", ID: l.NewID(), Nonce: "lost-nonce-000000001", Leaf: []byte("x")},
		{Log: "na", ID: l.NewID(), Nonce: "lost-nonce-000000002", Leaf: []byte("x")},
	}) {
		if res.err == nil {
			t.Fatal("failed commit succeeded")
		}
	}
	l.batchMu.Lock()
	l.failApply = nil
	l.batchMu.Unlock()
	if l.nonces.fillGen != fillGen || len(l.nonces.fill) != fillLen {
		t.Fatalf("failed commit moved the index: generation %d -> %d, %d -> %d entries", fillGen, l.nonces.fillGen, fillLen, len(l.nonces.fill))
	}
	for i := range 80 {
		round(1 + r.IntN(12))
		check(fmt.Sprintf("round %d after the failure", i))
	}
	if merged, _, _ := nonceState(t, l); l.nonces.fillGen < 10 || merged < 8*gen {
		t.Fatalf("%d generations, %d nonces merged: the test did not exercise rollovers and merges", l.nonces.fillGen, merged)
	}

	// Everything once more after a clean restart, with the default size.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir)
	var retries []Entry
	for _, n := range nonces {
		retries = append(retries, Entry{Log: firsts[n].log, ID: l.NewID(), Nonce: n, Leaf: []byte("again")})
	}
	for i, res := range commitEntries(t, l, retries) {
		f := firsts[retries[i].Nonce]
		if res.err != nil || !res.a.Duplicate || res.a.ID != f.id || res.a.Index != f.index {
			t.Fatalf("nonce %s after restart: %+v, %v", retries[i].Nonce, res.a, res.err)
		}
	}
	// The nonce of one log is new in another.
	a := mustAppend(t, l, Entry{Log: "nd", Nonce: nonces[0], Leaf: []byte("other log")})
	if a.Duplicate {
		t.Fatalf("nonce of another log taken for a duplicate: %+v", a)
	}
}
