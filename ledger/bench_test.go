package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchLeaf is a consent-record-sized leaf (about 350 bytes of JSON).
func benchLeaf(i int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"site":"s0000000000000001","time":"2025-06-01T12:00:00Z","ip":"203.0.113.0","url":"https://shop.example/products/%d?ref=newsletter","state":{"necessary":true,"preferences":true,"statistics":false,"marketing":false},"method":"custom","version":"v3-2f1c9a","country":"DE","gpc":false,"replaces":"","salt":"q83vEjRWeJASNFZ4kBI0Vg=="}`, idFor(i), i)
}

// idFor returns a deterministic, random-looking 128-bit URL-safe id.
func idFor(i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "bench-%d", i))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// BenchmarkAppend measures group-committed appends from many concurrent
// callers (512 per GOMAXPROCS unless the name says clients=N), each durable
// (fsync) when Append returns.
//
// ids=random uses 128-bit random ids as callers made them before NewID: each
// append then inserts at a random place of the global id index and dirties
// one more page. ids=ordered uses time-prefixed ids (like UUIDv7) to show
// what that costs; ids=newid uses Ledger.NewID, indexed by sequence number.
// nonces adds a random nonce per append, as the consent API does: one more
// random-key insert, in the nonce index. clients=64 keeps fewer appenders
// waiting, so batches are about as small as the server's (~50).
//
// B/append and KiB/commit are the pages bbolt allocated for the run's
// write transactions (TxStats.PageAlloc: every dirty page a commit writes,
// the freelist included when it is synced; the 4 KiB meta page of each
// commit is not counted), checkpoint transactions included.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		logs    int
		ids     string
		nonces  bool
		clients int // total appenders, a multiple of GOMAXPROCS; 0 = 512 per GOMAXPROCS
	}{
		{1, "random", false, 0}, {100, "random", false, 0}, {1, "ordered", false, 0}, {100, "ordered", false, 0},
		{1, "newid", false, 0}, {100, "newid", false, 0},
		{1, "random", true, 0}, {1, "newid", true, 0}, {1, "newid", true, 64},
	} {
		logs := c.logs
		name := fmt.Sprintf("logs=%d/ids=%s", logs, c.ids)
		if c.nonces {
			name += "/nonces"
		}
		if c.clients > 0 {
			name += fmt.Sprintf("/clients=%d", c.clients)
		}
		nonces := c.nonces
		b.Run(name, func(b *testing.B) {
			var (
				mu      sync.Mutex
				commits int
				leaves  int
				busy    time.Duration
			)
			l := mustOpen(b, b.TempDir(), func(o *Options) {
				o.CheckpointInterval = 500 * time.Millisecond
				o.OnCommit = func(n int, d time.Duration) { mu.Lock(); commits++; leaves += n; busy += d; mu.Unlock() }
			})
			mkID := map[string]func() string{"random": newID, "ordered": orderedID, "newid": l.NewID}[c.ids]
			leaf := benchLeaf(0)
			ctx := context.Background()
			b.SetParallelism(512)
			if c.clients > 0 {
				b.SetParallelism(max(1, c.clients/runtime.GOMAXPROCS(0)))
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			alloc0 := pageAlloc(l.db)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				r := mrand.New(mrand.NewPCG(mrand.Uint64(), 0))
				for pb.Next() {
					log := fmt.Sprintf("site%d", r.IntN(logs))
					e := Entry{Log: log, ID: mkID(), Leaf: leaf}
					if nonces {
						e.Nonce = newID()
					}
					if _, err := l.Append(ctx, e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			written := pageAlloc(l.db) - alloc0
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/append")
			b.ReportMetric(float64(written)/float64(b.N), "B/append")
			mu.Lock()
			if commits > 0 {
				b.ReportMetric(float64(leaves)/float64(commits), "leaves/commit")
				b.ReportMetric(float64(busy.Microseconds())/float64(commits)/1000, "ms/commit")
				b.ReportMetric(float64(written)/1024/float64(commits), "KiB/commit")
			}
			mu.Unlock()
		})
	}
}

// orderedID returns a unique id that sorts by creation time: 8 bytes of
// nanoseconds, 8 random bytes.
func orderedID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	rand.Read(b[8:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// buildLog appends n leaves (ids idFor(0..n-1)) to log in group commits of
// batch entries, straight through the writer's commit path.
func buildLog(tb testing.TB, l *Ledger, log string, from, n, batch int) {
	buildLogAs(tb, l, log, from, n, batch, false)
}

// buildLogAs is buildLog; with server set the entries are what the consent
// server appends: ids made by the ledger (sequence i: bigID) and a nonce
// each.
func buildLogAs(tb testing.TB, l *Ledger, log string, from, n, batch int, server bool) {
	tb.Helper()
	reqs := make([]*request, 0, batch)
	flush := func() {
		l.commit(reqs)
		for _, r := range reqs {
			if res := <-r.res; res.err != nil {
				tb.Fatal(res.err)
			}
		}
		reqs = reqs[:0]
	}
	day := uint32(dayOf(l.opts.Now()))
	for i := from; i < from+n; i++ {
		e := Entry{Log: log, ID: idFor(i), Leaf: benchLeaf(i)}
		if server {
			e.ID, e.Nonce = bigID(l, i), "nonce-"+idFor(i)
		}
		reqs = append(reqs, &request{e: e, day: day, res: make(chan result, 1)})
		if len(reqs) == batch {
			flush()
		}
	}
	if len(reqs) > 0 {
		flush()
	}
	if server {
		l.nextSeq.Store(max(l.nextSeq.Load(), uint64(from+n)))
	}
}

// bigID is the id of leaf i of bigLog: the ledger's own id of sequence i.
func bigID(l *Ledger, i int) string { return l.idc.encode(uint64(i)) }

var (
	bigOnce   sync.Once
	bigLedger *Ledger
	bigHeap   [2]uint64 // heap in use after 1e5 and 1e6 leaves
	bigBuild  time.Duration
	bigDir    string

	bigCommits, bigLeaves atomic.Int64 // group commits of bigLedger (for BenchmarkAppendLarge)
)

// TestMain removes the shared 10^6-leaf ledger after the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigLedger != nil {
		bigLedger.Close()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

const bigN = 1_000_000

// bigLog builds (once per benchmark run) a ledger whose log "big" has 10^6
// leaves as the consent server appends them (ids from the ledger, a nonce
// each). It takes tens of seconds.
func bigLog(b *testing.B) *Ledger {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledger-bench-")
		bigDir = dir
		if err != nil {
			b.Fatal(err)
		}
		l, err := Open(Options{Dir: dir, Host: testHost, CheckpointInterval: 100 * time.Millisecond,
			OnCommit: func(n int, _ time.Duration) { bigCommits.Add(1); bigLeaves.Add(int64(n)) }})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		buildLogAs(b, l, "big", 0, bigN/10, 1<<16, true)
		bigHeap[0] = heapInUse()
		buildLogAs(b, l, "big", bigN/10, bigN-bigN/10, 1<<16, true)
		bigHeap[1] = heapInUse()
		bigBuild = time.Since(start)
		waitCheckpoint(b, l, "big", bigN)
		bigLedger = l
	})
	if bigLedger == nil {
		b.Fatal("building the 10^6-leaf log failed")
	}
	return bigLedger
}

// cpuTime returns the process's user+system CPU time so far: on a shared
// machine it says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkProof measures Proof (inclusion proof + leaf decryption) at
// random positions of a 10^6-leaf log. It also reports the heap in use
// after building 10^5 and 10^6 leaves: flat, since no per-leaf state is
// kept in memory.
func BenchmarkProof(b *testing.B) {
	l := bigLog(b)
	ctx := context.Background()
	r := mrand.New(mrand.NewPCG(7, 7))
	b.ResetTimer()
	for b.Loop() {
		p, err := l.Proof(ctx, bigID(l, r.IntN(bigN)))
		if err != nil || p.TreeSize != bigN || len(p.Leaf) == 0 {
			b.Fatalf("Proof: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(bigHeap[0])/(1<<20), "heapMiB@1e5")
	b.ReportMetric(float64(bigHeap[1])/(1<<20), "heapMiB@1e6")
	b.ReportMetric(bigBuild.Seconds(), "build-s")
}

// BenchmarkVerify measures the offline check of a proof from the 10^6-leaf
// log, what `crumb verify` or an auditor's tool does.
func BenchmarkVerify(b *testing.B) {
	l := bigLog(b)
	p, err := l.Proof(context.Background(), bigID(l, 123457))
	if err != nil {
		b.Fatal(err)
	}
	v := l.Verifier()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Verify(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsistency measures consistency proofs between random sizes of
// the 10^6-leaf log.
func BenchmarkConsistency(b *testing.B) {
	l := bigLog(b)
	ctx := context.Background()
	r := mrand.New(mrand.NewPCG(8, 8))
	b.ResetTimer()
	for b.Loop() {
		from := 1 + r.Uint64N(bigN-1)
		if _, err := l.Consistency(ctx, "big", from, bigN); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendLarge measures appends as the consent server makes them
// (an id from NewID and a nonce each, 64 appenders: batches of ~30-60) to
// the log that already holds 10^6 such leaves, so its id and nonce indexes
// hold 10^6 entries. Run it with -benchtime 70000x or more to include a
// whole nonce generation's merge (see nonces.go); B/append and KiB/commit
// are as in BenchmarkAppend.
func BenchmarkAppendLarge(b *testing.B) {
	l := bigLog(b)
	leaf := benchLeaf(0)
	ctx := context.Background()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	bigCommits.Store(0)
	bigLeaves.Store(0)
	alloc0 := pageAlloc(l.db)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, Entry{Log: "big", ID: l.NewID(), Nonce: newID(), Leaf: leaf}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	written := pageAlloc(l.db) - alloc0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/append")
	b.ReportMetric(float64(written)/float64(b.N), "B/append")
	if c := bigCommits.Load(); c > 0 {
		b.ReportMetric(float64(bigLeaves.Load())/float64(c), "leaves/commit")
		b.ReportMetric(float64(written)/1024/float64(c), "KiB/commit")
	}
}

// BenchmarkBoltBaseline is the yardstick for BenchmarkAppend on the same
// machine at the same moment: raw bbolt group commits of 512 entries with
// the same key pattern as one ledger append minus the ledger (leaf at a
// sequential key, two 32-byte hashes at sequential keys, a random 128-bit
// id), and with a single sequential put per entry.
func BenchmarkBoltBaseline(b *testing.B) {
	for _, mode := range []string{"seq1", "seq3+rand1"} {
		b.Run(mode, func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "x.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.Update(func(tx *bolt.Tx) error {
				tx.CreateBucket([]byte("a"))
				tx.CreateBucket([]byte("b"))
				return nil
			})
			leaf := benchLeaf(0)
			n := 0
			start := time.Now()
			b.ResetTimer()
			for n < b.N {
				err := db.Update(func(tx *bolt.Tx) error {
					a, ids := tx.Bucket([]byte("a")), tx.Bucket([]byte("b"))
					a.FillPercent = 1
					for i := 0; i < 512 && n < b.N; i++ {
						n++
						if mode == "seq1" {
							a.Put(u64(uint64(n)), leaf)
							continue
						}
						a.Put(u64(uint64(3*n)), leaf)
						a.Put(u64(uint64(3*n+1)), leaf[:32])
						a.Put(u64(uint64(3*n+2)), leaf[:32])
						ids.Put([]byte(newID()), leaf[:20])
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
		})
	}
}

// pageAlloc returns the bytes of pages db's committed write transactions
// have allocated so far.
func pageAlloc(db *bolt.DB) int64 {
	st := db.Stats()
	return st.TxStats.GetPageAlloc()
}

// BenchmarkRetentionPass measures one daily retention pass over 1000 logs:
// an Erase per log (each one transaction and one rewrite of ledger.keys)
// against one EraseMany. Each iteration erases one more day of every log.
func BenchmarkRetentionPass(b *testing.B) {
	const logs = 1000
	for _, many := range []bool{false, true} {
		name := "erase-each"
		if many {
			name = "erase-many"
		}
		b.Run(name, func(b *testing.B) {
			day0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := &clock{t: day0.Add(3650 * 24 * time.Hour)}
			l := mustOpen(b, b.TempDir(), func(o *Options) { o.Now = clk.Now })
			var wg sync.WaitGroup
			names := make([]string, logs)
			for i := range names {
				names[i] = fmt.Sprintf("site%04d", i)
			}
			for w := range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < logs; i += 64 {
						mustAppend(b, l, Entry{Log: names[i], Time: day0, Leaf: []byte(`{}`)})
					}
				}()
			}
			wg.Wait()
			day := 1
			for b.Loop() {
				cut := day0.Add(time.Duration(day) * 24 * time.Hour)
				if many {
					cutoffs := make(map[string]time.Time, logs)
					for _, n := range names {
						cutoffs[n] = cut
					}
					if _, err := l.EraseMany(cutoffs); err != nil {
						b.Fatal(err)
					}
				} else {
					for _, n := range names {
						if _, err := l.Erase(n, cut); err != nil {
							b.Fatal(err)
						}
					}
				}
				day++
			}
		})
	}
}

// BenchmarkNewLogKey is the key a log's first append needs, with n logs
// already keyed: it is made durable before that append's batch commits, so
// every append in the batch waits for it. Rewriting ledger.keys for it took
// ~200 ms at 10⁵ logs; appending to the journal does not grow with n.
func BenchmarkNewLogKey(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint("logs=", n), func(b *testing.B) {
			ks, err := loadKeyStore(filepath.Join(b.TempDir(), keysFile))
			if err != nil {
				b.Fatal(err)
			}
			defer ks.close()
			need := make(map[string]uint32, n)
			for i := range n {
				need[fmt.Sprintf("s%015d/consents", i)] = 20000
			}
			if err := ks.ensure(need); err != nil {
				b.Fatal(err)
			}
			ks.mu.Lock()
			if err := ks.saveLocked(); err != nil { // the n keys in ledger.keys, as after a restart
				b.Fatal(err)
			}
			ks.mu.Unlock()
			for i := 0; b.Loop(); i++ {
				if err := ks.ensure(map[string]uint32{fmt.Sprint("new", i): 20000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen is Open (and nothing else) of a ledger with n logs of one
// leaf each, every one with an erasure record already applied, as the daily
// retention pass leaves them: Open reads every log's counters and looks for
// an erasure whose key step did not happen.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint("logs=", n), func(b *testing.B) {
			dir := b.TempDir()
			day0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := &clock{t: day0.Add(48 * time.Hour)}
			opts := Options{Dir: dir, Host: testHost, Now: clk.Now}
			l, err := Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			names := make([]string, n)
			cutoffs := make(map[string]time.Time, n)
			reqs := make([]*request, 0, 4096)
			flush := func() {
				l.commit(reqs)
				for _, r := range reqs {
					if res := <-r.res; res.err != nil {
						b.Fatal(res.err)
					}
				}
				reqs = reqs[:0]
			}
			for i := range names {
				names[i] = fmt.Sprintf("s%015d/consents", i)
				cutoffs[names[i]] = day0.Add(24 * time.Hour)
				reqs = append(reqs, &request{e: Entry{Log: names[i], ID: idFor(i), Leaf: benchLeaf(i)}, day: uint32(dayOf(day0)), res: make(chan result, 1)})
				if len(reqs) == cap(reqs) {
					flush()
				}
			}
			flush()
			if _, err := l.EraseMany(cutoffs); err != nil {
				b.Fatal(err)
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			var open time.Duration
			for b.Loop() {
				start := time.Now()
				l, err := Open(opts)
				open += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(open.Seconds()*1000/float64(b.N), "ms/open")
		})
	}
}
