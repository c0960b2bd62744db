package ledger

import (
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
