package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestAppendOnlyBucketsPacked checks that the append-only buckets of a log
// (stored hashes, sealed leaves) fill their leaf pages instead of leaving
// them half empty: bbolt's FillPercent is per bucket handle, so the writer
// must set it in every transaction. At bbolt's default of 0.5 each page
// would be about half used.
func TestAppendOnlyBucketsPacked(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	const log = "site1"
	for from := 0; from < 4000; from += 500 {
		buildLog(t, l, log, from, 500, 64) // many small group commits, like a server
	}
	err := l.db.View(func(tx *bolt.Tx) error {
		lb := logBucket(tx, log)
		for _, name := range [][]byte{bktHashes, bktLeaves} {
			st := lb.Bucket(name).Stats()
			if st.LeafPageN < 10 {
				t.Fatalf("bucket %s: only %d leaf pages; the test needs more", name, st.LeafPageN)
			}
			if use := float64(st.LeafInuse) / float64(st.LeafAlloc); use < 0.85 {
				t.Errorf("bucket %s: leaf pages %.0f%% used (%d pages), want ≥ 85%%", name, 100*use, st.LeafPageN)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoFreelistSyncFile checks the files a ledger writes without a synced
// freelist (Options.NoFreelistSync): after many commits have freed pages,
// the file opens read-only (what `crumb backup` does when no server runs)
// and copies with Tx.WriteTo; the copy opened read-write by a bbolt that
// syncs its freelist gets one rebuilt and stays consistent; and the ledger
// reopens on the original, rebuilds its freelist, checks clean and appends.
func TestNoFreelistSyncFile(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	var last Appended
	for i := range 300 { // 300 commits of one leaf: every commit frees pages
		last = mustAppend(t, l, Entry{Log: "f1", Nonce: fmt.Sprintf("n%d", i), Leaf: []byte("leaf")})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dbFile)

	ro, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open: %v", err)
	}
	copyPath := filepath.Join(t.TempDir(), dbFile)
	f, err := os.Create(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.View(func(tx *bolt.Tx) error {
		if got := getU64(logBucket(tx, "f1"), keySize); got != 300 {
			t.Errorf("read-only: size %d, want 300", got)
		}
		_, err := tx.WriteTo(f)
		return err
	}); err != nil {
		t.Fatalf("read-only copy: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	// The copy, opened by a freelist-syncing bbolt (bbolt's CLI, an older
	// Crumb): Open rebuilds the freelist and writes it.
	cp, err := bolt.Open(copyPath, 0o600, nil)
	if err != nil {
		t.Fatalf("open copy read-write: %v", err)
	}
	checkBolt(t, cp)
	if err := cp.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktIDs).Put([]byte("x"), []byte("y")) }); err != nil {
		t.Fatal(err)
	}
	checkBolt(t, cp)
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}

	l = mustOpen(t, dir)
	checkBolt(t, l.db)
	if st := l.db.Stats(); st.FreePageN == 0 {
		t.Errorf("reopened ledger found no free pages after 300 commits")
	}
	a := mustAppend(t, l, Entry{Log: "f1", Leaf: []byte("after reopen")})
	if a.Index != 300 {
		t.Errorf("append after reopen: index %d, want 300", a.Index)
	}
	p, err := l.Proof(context.Background(), last.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(l.Verifier()); err != nil {
		t.Errorf("proof after reopen: %v", err)
	}
	checkBolt(t, l.db)
}

// checkBolt runs bbolt's consistency check (every page reachable once or
// free, keys in order).
func checkBolt(t *testing.T, db *bolt.DB) {
	t.Helper()
	var errs []error
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() { // drain: Check's goroutine sends every error
			errs = append(errs, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("bbolt check: %d errors, first: %v", len(errs), errs[0])
	}
}
