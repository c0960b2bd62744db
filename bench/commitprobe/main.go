// Commitprobe measures what one group commit costs bbolt per append for the
// key patterns of Crumb's ledger, and what changes it: it writes the same
// puts per entry as ledger/append.go does (layout in ledger/store.go) into a
// fresh bbolt file, prefills it, then times fsync'd commits of -batch
// appends and counts the bytes bbolt wrote for them.
//
// Per append the ledger puts: 1 + trailing-ones(n) stored hashes (h,
// sequential keys), the sealed leaf (l, sequential), the id's position and,
// when the request has one, the nonce. Until November 2026 the id went to
// ids/ under a random 128-bit key and the nonce to n/ under the client's
// random nonce; random keys land on a different B+tree leaf page each time
// once the index is larger than a batch, and bbolt copies every page it
// touches on write. Since then ids made by Ledger.NewID go to idseq/ under
// their sequence number (sequential), and the variants below weigh what to
// do with the nonce index:
//
//   - raw: n/ nonce → id, as before;
//   - hashed: a 16-byte keyed hash of the nonce → a 9-byte reference, still
//     at a random place (smaller entries, a shallower tree);
//   - lsm: new entries go to a sequential generation bucket (and, in the
//     ledger, an in-memory map); a full generation of -gen entries is merged
//     into the hashed index in sorted slices, 2 keys per new append, so each
//     merged page takes many inserts (a generation's ~gen keys spread over
//     the index's pages).
//
// The lsm variant measures one whole cycle: a full generation waiting to be
// merged at the start, the next one filled by the end (-gen/-batch commits
// at least), so its bytes per append are the steady-state average.
//
//	go run ./bench/commitprobe [-prefill 100000] [-batch 64] [-commits 150] [-gen 65536] [-run REGEXP]
//
// It is not the ledger (no encryption, no Merkle hashing, random bytes for
// hashes, leaves and nonce hashes): it isolates the storage layout. Figures
// and their reading are in bench/RESULTS.txt and ledger/BENCHMARKS.txt.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// variant is one storage layout to measure.
type variant struct {
	name string
	// ids: "random" (ids/, random 128-bit key), "seq" (idseq/, sequence
	// number key) or "" (no id index).
	ids string
	// nonces: "" (none), "raw", "hashed" or "lsm" (see the package doc).
	nonces string
	// separate puts ids and nonces in a second file without fsync.
	separate       bool
	fill           float64 // FillPercent of the sequential buckets; 0 = bbolt's default
	noFreelistSync bool
	pageSize       int     // bbolt PageSize; 0 = the OS page size
	mergedFill     float64 // FillPercent of the hashed/lsm nonce index; 0 = bbolt's default
}

var variants = []variant{
	{name: "ledger layout: h, l, ids, nonces", ids: "random", nonces: "raw"},
	{name: "without the nonce index", ids: "random"},
	{name: "sequential buckets only (h, l)"},
	{name: "ids+nonces in a 2nd file, no fsync", ids: "random", nonces: "raw", separate: true},
	{name: "ledger layout, FillPercent 1.0 on h, l", ids: "random", nonces: "raw", fill: 1.0},
	{name: "ledger layout, NoFreelistSync", ids: "random", nonces: "raw", noFreelistSync: true},
	// After NewID (h and l packed as the ledger has them since 4a).
	{name: "newid: h, l, idseq, raw nonces", ids: "seq", nonces: "raw", fill: 1.0},
	{name: "newid: h, l, idseq, no nonces", ids: "seq", fill: 1.0},
	{name: "newid, hashed nonces (16 B -> 9 B)", ids: "seq", nonces: "hashed", fill: 1.0},
	{name: "newid, raw nonces, PageSize 1024", ids: "seq", nonces: "raw", fill: 1.0, pageSize: 1024},
	{name: "newid, lsm nonces", ids: "seq", nonces: "lsm", fill: 1.0},
	{name: "newid, lsm nonces, m/ FillPercent 0.9", ids: "seq", nonces: "lsm", fill: 1.0, mergedFill: 0.9},
}

// result is one variant's figures.
type result struct {
	variant
	commits                                                int
	kibPerCommit, kibPerAppend, msPerCommit, appendsPerSec float64
	fileMiB                                                int64
}

const (
	leafSize = 450 // a sealed consent record
	refSize  = 9   // a nonce's reference: kind byte + sequence number
)

var (
	bLogs   = []byte("logs")
	bSite   = []byte("site")
	bH      = []byte("h")
	bL      = []byte("l")
	bN      = []byte("n")
	bIDs    = []byte("ids")
	bSeqIDs = []byte("idseq")
	bNonces = []byte("nonces") // hashed and lsm: m/ (merged index) and one bucket per generation
	bMerged = []byte("m")
	keySz   = []byte("size")
	keyProg = []byte("progress")
	logLoc  = []byte("site")
)

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomID() []byte { return []byte(base64.RawURLEncoding.EncodeToString(random(16))) }

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// genEntry is one nonce of an lsm generation: its hash and its key (the
// counter) in the generation's bucket.
type genEntry struct {
	hash    []byte
	counter uint64
}

// store is one open variant.
type store struct {
	v    variant
	db   *bolt.DB
	ix   *bolt.DB // the index file of a separate variant
	size uint64
	seq  uint64 // next id sequence number
	gen  int    // lsm generation size

	// lsm state: the generation being filled and the one being merged.
	fillGen  uint64
	fill     []genEntry
	mergeGen uint64
	merging  []genEntry // sorted by hash; nil when nothing is merging
	mergePos int
}

func openStore(dir string, v variant, gen int) (*store, error) {
	s := &store{v: v, gen: gen}
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: v.noFreelistSync, PageSize: v.pageSize})
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
		for _, name := range [][]byte{bIDs, bSeqIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		nb, err := tx.CreateBucketIfNotExists(bNonces)
		if err != nil {
			return err
		}
		if _, err := nb.CreateBucketIfNotExists(bMerged); err != nil {
			return err
		}
		_, err = nb.CreateBucketIfNotExists(u64(0)) // lsm: the first generation
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
// prefill commits put lsm nonces straight into the merged index.
func (s *store) commit(batch int, prefill bool) error {
	type index struct{ id, nonce, loc []byte }
	var later []index
	var newFill []genEntry
	rolled := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bLogs).Bucket(bSite)
		h, l, n, ids, seqIDs := sb.Bucket(bH), sb.Bucket(bL), sb.Bucket(bN), tx.Bucket(bIDs), tx.Bucket(bSeqIDs)
		nb := tx.Bucket(bNonces)
		merged := nb.Bucket(bMerged)
		if s.v.mergedFill > 0 {
			merged.FillPercent = s.v.mergedFill
		}
		if s.v.fill > 0 {
			h.FillPercent, l.FillPercent, seqIDs.FillPercent = s.v.fill, s.v.fill, s.v.fill
		}
		var genB *bolt.Bucket
		if s.v.nonces == "lsm" && !prefill {
			var err error
			if rolled, err = s.roll(nb); err != nil {
				return err
			}
			genB = nb.Bucket(u64(s.fillGen))
			if rolled {
				genB = nb.Bucket(u64(s.fillGen + 1))
			}
			genB.FillPercent = 1
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
			if s.v.nonces == "raw" {
				x.nonce = randomID()
			}
			switch {
			case s.v.separate:
				later = append(later, x)
			case s.v.ids == "random":
				if err := ids.Put(x.id, x.loc); err != nil {
					return err
				}
			case s.v.ids == "seq":
				if err := seqIDs.Put(u64(s.seq), x.loc); err != nil {
					return err
				}
			}
			ref := append([]byte{0}, u64(s.seq)...)
			s.seq++
			switch {
			case s.v.separate:
			case x.nonce != nil:
				if n.Get(x.nonce) != nil { // the duplicate check
					return fmt.Errorf("nonce collision")
				}
				if err := n.Put(x.nonce, x.id); err != nil {
					return err
				}
			case s.v.nonces == "hashed" || s.v.nonces == "lsm" && prefill:
				hash := random(16)
				if merged.Get(hash) != nil {
					return fmt.Errorf("nonce collision")
				}
				if err := merged.Put(hash, ref); err != nil {
					return err
				}
			case s.v.nonces == "lsm":
				hash := random(16)
				if merged.Get(hash) != nil { // the ledger also looks in its maps
					return fmt.Errorf("nonce collision")
				}
				c := uint64(len(s.fill) + len(newFill))
				if rolled {
					c = uint64(len(newFill))
				}
				if err := genB.Put(u64(c), append(slices.Clip(hash), ref...)); err != nil {
					return err
				}
				newFill = append(newFill, genEntry{hash, c})
			}
			s.size++
		}
		if s.v.nonces == "lsm" && !prefill {
			if err := s.mergeStep(nb, 2*batch+16); err != nil {
				return err
			}
		}
		return sb.Put(keySz, u64(s.size))
	})
	if err != nil {
		return err
	}
	if rolled {
		s.fillGen++
		s.fill = nil
	}
	s.fill = append(s.fill, newFill...)
	if len(later) == 0 {
		return nil
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

// roll starts a new lsm generation when the one being filled is full; a
// generation still merging is merged to the end first. The in-memory state
// changes here; the probe never rolls back.
func (s *store) roll(nb *bolt.Bucket) (bool, error) {
	if len(s.fill) < s.gen {
		return false, nil
	}
	if s.merging != nil {
		if err := s.mergeStep(nb, len(s.merging)); err != nil {
			return false, err
		}
	}
	s.mergeGen, s.merging, s.mergePos = s.fillGen, s.fill, 0
	slices.SortFunc(s.merging, func(a, b genEntry) int { return bytes.Compare(a.hash, b.hash) })
	_, err := nb.CreateBucket(u64(s.fillGen + 1))
	return true, err
}

// mergeStep merges the next k entries of the merging generation into the
// merged index, deletes the generation's bucket when done and records the
// progress.
func (s *store) mergeStep(nb *bolt.Bucket, k int) error {
	if s.merging == nil {
		return nil
	}
	merged, genB := nb.Bucket(bMerged), nb.Bucket(u64(s.mergeGen))
	end := min(len(s.merging), s.mergePos+k)
	for _, e := range s.merging[s.mergePos:end] {
		v := genB.Get(u64(e.counter))
		if err := merged.Put(e.hash, v[16:]); err != nil {
			return err
		}
	}
	s.mergePos = end
	if end == len(s.merging) {
		s.merging = nil
		if err := nb.DeleteBucket(u64(s.mergeGen)); err != nil {
			return err
		}
		return nb.Delete(keyProg)
	}
	return nb.Put(keyProg, append(u64(s.mergeGen), u64(uint64(end))...))
}

// measure prefills a fresh store of v in dir, then times commits.
func measure(dir string, v variant, prefill, batch, commits, gen int) (result, error) {
	s, err := openStore(dir, v, gen)
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	s.db.NoSync = true // prefill fast; durability is not what is measured here
	direct := prefill
	if v.nonces == "lsm" {
		direct = max(0, prefill-gen) // the last generation waits to be merged
	}
	for s.size < uint64(direct) {
		if err := s.commit(min(5000, direct-int(s.size)), true); err != nil {
			return result{}, err
		}
	}
	for s.size < uint64(prefill) {
		if err := s.commit(min(5000, prefill-int(s.size)), false); err != nil {
			return result{}, err
		}
	}
	if v.nonces == "lsm" {
		commits = max(commits, (gen+batch-1)/batch) // one whole cycle
	}
	s.db.NoSync = false
	if err := s.db.Sync(); err != nil {
		return result{}, err
	}
	before := s.db.Stats()
	start := time.Now()
	for range commits {
		if err := s.commit(batch, false); err != nil {
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
		commits:       commits,
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

func run(w io.Writer, only *regexp.Regexp, prefill, batch, commits, gen int) ([]result, error) {
	fmt.Fprintf(w, "commitprobe: %d entries prefilled, then %d fsync'd commits of %d appends (lsm: one cycle of a %d-entry generation) (KiB = pages bbolt wrote to the fsync'd file)\n\n",
		prefill, commits, batch, gen)
	fmt.Fprintf(w, "%-42s %8s %12s %12s %10s %10s %8s\n", "variant", "commits", "KiB/commit", "KiB/append", "ms/commit", "appends/s", "file MiB")
	var out []result
	for _, v := range variants {
		if only != nil && !only.MatchString(v.name) {
			continue
		}
		dir, err := os.MkdirTemp("", "commitprobe-")
		if err != nil {
			return out, err
		}
		r, err := measure(dir, v, prefill, batch, commits, gen)
		os.RemoveAll(dir)
		if err != nil {
			return out, fmt.Errorf("%s: %w", v.name, err)
		}
		fmt.Fprintf(w, "%-42s %8d %12.0f %12.2f %10.2f %10.0f %8d\n", r.name, r.commits, r.kibPerCommit, r.kibPerAppend, r.msPerCommit, r.appendsPerSec, r.fileMiB)
		out = append(out, r)
	}
	return out, nil
}

func main() {
	prefill := flag.Int("prefill", 100000, "entries written (without fsync) before measuring")
	batch := flag.Int("batch", 64, "appends per group commit")
	commits := flag.Int("commits", 150, "measured commits per variant (lsm: at least one generation's worth)")
	gen := flag.Int("gen", 65536, "lsm: entries per generation")
	only := flag.String("run", "", "measure only the variants whose name matches this regular expression")
	flag.Parse()
	if *prefill < 0 || *batch <= 0 || *commits <= 0 || *gen <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			fmt.Fprintln(os.Stderr, "commitprobe: -run:", err)
			os.Exit(2)
		}
	}
	if _, err := run(os.Stdout, re, *prefill, *batch, *commits, *gen); err != nil {
		fmt.Fprintln(os.Stderr, "commitprobe:", err)
		os.Exit(1)
	}
}
