// Commitprobe measures what one group commit costs bbolt per append for the
// key patterns of Crumb's ledger, and what changes it: it writes the same
// puts per entry as ledger/append.go does (layout in ledger/store.go, as of
// November 2026) into a fresh bbolt file, prefills it, then times fsync'd
// commits of -batch appends and counts the bytes bbolt wrote for them.
//
// Per append the ledger puts: 1 + trailing-ones(n) stored hashes (h,
// sequential keys), the sealed leaf (l, sequential), id → position (ids,
// a random 128-bit key) and, when the request has one, nonce → id (n, a
// random client key). Random keys land on a different B+tree leaf page each
// time once the index is larger than a batch, and bbolt copies every page it
// touches on write: the variants show how much of a commit that is.
//
//	go run ./bench/commitprobe [-prefill 100000] [-batch 64] [-commits 150]
//
// It is not the ledger (no encryption, no Merkle hashing, random bytes for
// hashes and leaves): it isolates the storage layout. Figures and their
// reading are in bench/RESULTS.txt.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// variant is one storage layout to measure.
type variant struct {
	name string
	// ids and nonces put the random-key indexes in the fsync'd file;
	// separate puts them in a second file without fsync instead.
	ids, nonces, separate bool
	fill                  float64 // FillPercent of the sequential buckets; 0 = bbolt's default
	noFreelistSync        bool
}

var variants = []variant{
	{name: "ledger layout: h, l, ids, nonces", ids: true, nonces: true},
	{name: "without the nonce index", ids: true},
	{name: "sequential buckets only (h, l)"},
	{name: "ids+nonces in a 2nd file, no fsync", ids: true, nonces: true, separate: true},
	{name: "ledger layout, FillPercent 1.0 on h, l", ids: true, nonces: true, fill: 1.0},
	{name: "ledger layout, NoFreelistSync", ids: true, nonces: true, noFreelistSync: true},
}

// result is one variant's figures.
type result struct {
	variant
	kibPerCommit, kibPerAppend, msPerCommit, appendsPerSec float64
	fileMiB                                                int64
}

const leafSize = 450 // a sealed consent record

var (
	bLogs  = []byte("logs")
	bSite  = []byte("site")
	bH     = []byte("h")
	bL     = []byte("l")
	bN     = []byte("n")
	bIDs   = []byte("ids")
	keySz  = []byte("size")
	logLoc = []byte("site")
)

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomID() []byte { return []byte(base64.RawURLEncoding.EncodeToString(random(16))) }

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// store is one open variant.
type store struct {
	v    variant
	db   *bolt.DB
	ix   *bolt.DB // the index file of a separate variant
	size uint64
}

func openStore(dir string, v variant) (*store, error) {
	s := &store{v: v}
	var err error
	if s.db, err = openDB(filepath.Join(dir, "ledger.db"), v); err != nil {
		return nil, err
	}
	if v.separate {
		if s.ix, err = openDB(filepath.Join(dir, "index.db"), v); err != nil {
			s.db.Close()
			return nil, err
		}
		s.ix.NoSync = true
	}
	return s, nil
}

func openDB(path string, v variant) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: v.noFreelistSync})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		lb, err := tx.CreateBucketIfNotExists(bLogs)
		if err != nil {
			return err
		}
		sb, err := lb.CreateBucketIfNotExists(bSite)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bH, bL, bN} {
			if _, err := sb.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucketIfNotExists(bIDs)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (s *store) Close() error {
	err := s.db.Close()
	if s.ix != nil {
		if e := s.ix.Close(); err == nil {
			err = e
		}
	}
	return err
}

// commit appends batch entries in one transaction (one fsync unless NoSync).
func (s *store) commit(batch int) error {
	type index struct{ id, nonce, loc []byte }
	var later []index
	err := s.db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bLogs).Bucket(bSite)
		h, l, n, ids := sb.Bucket(bH), sb.Bucket(bL), sb.Bucket(bN), tx.Bucket(bIDs)
		if s.v.fill > 0 {
			h.FillPercent, l.FillPercent = s.v.fill, s.v.fill
		}
		for range batch {
			i := s.size
			for k := range 1 + bits.TrailingZeros64(^i) { // tlog.StoredHashes count for leaf i
				if err := h.Put(u64(2*i+uint64(k)), random(32)); err != nil {
					return err
				}
			}
			if err := l.Put(u64(i), random(leafSize)); err != nil {
				return err
			}
			x := index{id: randomID(), loc: append(u64(i), logLoc...)}
			if s.v.nonces {
				x.nonce = randomID()
			}
			switch {
			case s.v.separate:
				later = append(later, x)
			case s.v.ids:
				if err := ids.Put(x.id, x.loc); err != nil {
					return err
				}
				if x.nonce != nil {
					if err := n.Put(x.nonce, x.id); err != nil {
						return err
					}
				}
			}
			s.size++
		}
		return sb.Put(keySz, u64(s.size))
	})
	if err != nil || len(later) == 0 {
		return err
	}
	return s.ix.Update(func(tx *bolt.Tx) error {
		ids, n := tx.Bucket(bIDs), tx.Bucket(bLogs).Bucket(bSite).Bucket(bN)
		for _, x := range later {
			if err := ids.Put(x.id, x.loc); err != nil {
				return err
			}
			if err := n.Put(x.nonce, x.id); err != nil {
				return err
			}
		}
		return nil
	})
}

// measure prefills a fresh store of v in dir, then times commits.
func measure(dir string, v variant, prefill, batch, commits int) (result, error) {
	s, err := openStore(dir, v)
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	s.db.NoSync = true // prefill fast; durability is not what is measured here
	for s.size < uint64(prefill) {
		if err := s.commit(min(5000, prefill-int(s.size))); err != nil {
			return result{}, err
		}
	}
	s.db.NoSync = false
	if err := s.db.Sync(); err != nil {
		return result{}, err
	}
	before := s.db.Stats()
	start := time.Now()
	for range commits {
		if err := s.commit(batch); err != nil {
			return result{}, err
		}
	}
	elapsed := time.Since(start)
	after := s.db.Stats()
	d := after.Sub(&before)
	// For the separate variant this counts the fsync'd file only: the
	// index file's pages are written too, to the page cache, unsynced.
	written := float64(d.TxStats.GetPageAlloc()) / 1024
	r := result{
		variant:       v,
		kibPerCommit:  written / float64(commits),
		kibPerAppend:  written / float64(commits*batch),
		msPerCommit:   float64(elapsed.Microseconds()) / 1000 / float64(commits),
		appendsPerSec: float64(commits*batch) / elapsed.Seconds(),
	}
	if fi, err := os.Stat(filepath.Join(dir, "ledger.db")); err == nil {
		r.fileMiB = fi.Size() >> 20
	}
	return r, nil
}

func run(w io.Writer, prefill, batch, commits int) ([]result, error) {
	fmt.Fprintf(w, "commitprobe: %d entries prefilled, then %d fsync'd commits of %d appends (KiB = pages bbolt wrote to the fsync'd file)\n\n",
		prefill, commits, batch)
	fmt.Fprintf(w, "%-42s %12s %12s %10s %10s %8s\n", "variant", "KiB/commit", "KiB/append", "ms/commit", "appends/s", "file MiB")
	var out []result
	for _, v := range variants {
		dir, err := os.MkdirTemp("", "commitprobe-")
		if err != nil {
			return out, err
		}
		r, err := measure(dir, v, prefill, batch, commits)
		os.RemoveAll(dir)
		if err != nil {
			return out, fmt.Errorf("%s: %w", v.name, err)
		}
		fmt.Fprintf(w, "%-42s %12.0f %12.2f %10.2f %10.0f %8d\n", r.name, r.kibPerCommit, r.kibPerAppend, r.msPerCommit, r.appendsPerSec, r.fileMiB)
		out = append(out, r)
	}
	return out, nil
}

func main() {
	prefill := flag.Int("prefill", 100000, "entries written (without fsync) before measuring")
	batch := flag.Int("batch", 64, "appends per group commit")
	commits := flag.Int("commits", 150, "measured commits per variant")
	flag.Parse()
	if *prefill < 0 || *batch <= 0 || *commits <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if _, err := run(os.Stdout, *prefill, *batch, *commits); err != nil {
		fmt.Fprintln(os.Stderr, "commitprobe:", err)
		os.Exit(1)
	}
}
