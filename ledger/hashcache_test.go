package ledger

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// TestInclusionMatchesTlog checks the proof builder against
// tlog.ProveRecord for every leaf of every tree size up to 300, then for
// random leaves of random sizes up to 5000, through one cache, so right-edge
// hashes of one size are never served for another and cached upper levels
// are reused across sizes. The random part spreads over more log names
// (over the same hashes) than the cache keeps, so parts are dropped and
// rebuilt as it goes.
func TestInclusionMatchesTlog(t *testing.T) {
	const exhaustive, n = 300, 5000
	db, err := bolt.Open(filepath.Join(t.TempDir(), "h.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("h"))
		if err != nil {
			return err
		}
		for i := range int64(n) {
			hs, err := tlog.StoredHashes(i, []byte(fmt.Sprint("leaf ", i)), hashReader{b})
			if err != nil {
				return err
			}
			for k, h := range hs {
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(tlog.StoredHashIndex(0, i)+int64(k)))
				if err := b.Put(key[:], h[:]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newHashCache()
	c.maxLogs = 4
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("h"))
		log := "log"
		check := func(m, size uint64) error {
			want, err := tlog.ProveRecord(int64(size), int64(m), hashReader{b})
			if err != nil {
				return err
			}
			got, err := c.stored(b, log, size).inclusion(m, size)
			if err != nil {
				return fmt.Errorf("inclusion(%d, %d): %w", m, size, err)
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("inclusion(%d, %d) = %x, want %x", m, size, got, want)
			}
			return nil
		}
		for size := uint64(1); size <= exhaustive; size++ {
			for m := range size {
				if err := check(m, size); err != nil {
					return err
				}
			}
		}
		r := rand.New(rand.NewPCG(3, 4))
		for range 5000 {
			log = fmt.Sprint("log", r.IntN(12))
			size := 1 + r.Uint64N(n)
			if err := check(r.Uint64N(size), size); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHashCacheBoundsLogs: however many logs are proved, the cache keeps a
// part for at most maxLogs of them, and always for the one just asked for.
func TestHashCacheBoundsLogs(t *testing.T) {
	c := newHashCache()
	c.maxLogs = 8
	for i := range 100 {
		name := fmt.Sprint("site", i)
		p := c.log(name)
		if c.log(name) != p {
			t.Fatalf("%s: a second lookup gave another part", name)
		}
		n := 0
		c.logs.Range(func(_, _ any) bool { n++; return true })
		if n > 8 || int64(n) != c.nlogs.Load() {
			t.Fatalf("after %d logs: %d parts kept, counter %d, bound 8", i+1, n, c.nlogs.Load())
		}
	}
}
