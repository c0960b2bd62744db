package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestProofsAgainstReference appends random leaves to several logs from
// concurrent goroutines in random batch sizes, then checks every inclusion
// proof and many consistency proofs with two independent verifiers
// (transparency-dev/merkle and x/mod/sumdb/tlog) against roots computed by
// a textbook in-memory reference.
func TestProofsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logs := []string{"siteA", "siteB", "siteB/scans", "s_c-1"}
	perLog := 150
	if testing.Short() {
		perLog = 60
	}
	for _, maxBatch := range []int{1, 7, 1024} {
		t.Run(fmt.Sprintf("maxbatch=%d", maxBatch), func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), func(o *Options) { o.MaxBatch = maxBatch })
			type rec struct {
				id   string
				leaf []byte
			}
			ref := make(map[string][]rec) // log → leaves by index
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, log := range logs {
				ref[log] = make([]rec, perLog)
			}
			for _, log := range logs {
				// Several goroutines per log, each appending a random share.
				shares := []int{perLog / 3, perLog / 3, perLog - 2*(perLog/3)}
				for g, n := range shares {
					seed := rng.Uint64()
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := rand.New(rand.NewPCG(seed, uint64(g)))
						for range n {
							leaf := make([]byte, 1+r.IntN(300))
							for i := range leaf {
								leaf[i] = byte(r.Uint32())
							}
							id := newID()
							a, err := l.Append(context.Background(), Entry{Log: log, ID: id, Leaf: leaf})
							if err != nil {
								t.Errorf("Append: %v", err)
								return
							}
							mu.Lock()
							if a.Index >= uint64(perLog) || ref[log][a.Index].id != "" {
								t.Errorf("log %s: index %d given twice or out of range", log, a.Index)
							} else {
								ref[log][a.Index] = rec{id, leaf}
							}
							mu.Unlock()
							if a.LeafHash != tlog.RecordHash(leaf) {
								t.Errorf("LeafHash mismatch")
							}
						}
					}()
				}
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			hasher := rfc6962.DefaultHasher
			for _, log := range logs {
				if got := l.Size(log); got != uint64(perLog) {
					t.Fatalf("Size(%s) = %d, want %d", log, got, perLog)
				}
				hs := make([]tlog.Hash, perLog)
				for i, r := range ref[log] {
					if r.id == "" {
						t.Fatalf("log %s: index %d never given", log, i)
					}
					hs[i] = tlog.RecordHash(r.leaf)
				}
				cp := waitCheckpoint(t, l, log, uint64(perLog))
				origin, size, root, err := ParseCheckpoint(cp, l.Verifier())
				if err != nil {
					t.Fatal(err)
				}
				if origin != testHost+"/sites/"+log || size != uint64(perLog) || root != refRoot(hs) {
					t.Fatalf("checkpoint %q %d %v, want root %v", origin, size, root, refRoot(hs))
				}

				// Every inclusion proof.
				for i, r := range ref[log] {
					p := mustProof(t, l, r.id)
					if p.Index != uint64(i) || p.Site != log || !bytes.Equal(p.Leaf, r.leaf) {
						t.Fatalf("proof of %d: index %d site %s", i, p.Index, p.Site)
					}
					if err := p.Verify(l.Verifier()); err != nil {
						t.Fatalf("proof %d Verify: %v", i, err)
					}
					pRoot := refRoot(hs[:p.TreeSize])
					if err := proof.VerifyInclusion(hasher, p.Index, p.TreeSize, hs[i][:], p.Inclusion, pRoot[:]); err != nil {
						t.Fatalf("merkle.VerifyInclusion(%d of %d): %v", i, p.TreeSize, err)
					}
					rp := make(tlog.RecordProof, len(p.Inclusion))
					for k := range p.Inclusion {
						copy(rp[k][:], p.Inclusion[k])
					}
					if err := tlog.CheckRecord(rp, int64(p.TreeSize), pRoot, int64(i), hs[i]); err != nil {
						t.Fatalf("tlog.CheckRecord(%d of %d): %v", i, p.TreeSize, err)
					}
				}

				// Consistency: all pairs among small sizes, random pairs beyond.
				var pairs [][2]uint64
				for a := uint64(1); a <= 17; a++ {
					for b := a; b <= 17; b++ {
						pairs = append(pairs, [2]uint64{a, b})
					}
				}
				for range 150 {
					a := 1 + rng.Uint64N(uint64(perLog))
					b := a + rng.Uint64N(uint64(perLog)-a+1)
					pairs = append(pairs, [2]uint64{a, b})
				}
				pairs = append(pairs, [2]uint64{1, uint64(perLog)}, [2]uint64{uint64(perLog), uint64(perLog)})
				for _, pr := range pairs {
					a, b := pr[0], pr[1]
					cp, err := l.Consistency(context.Background(), log, a, b)
					if err != nil {
						t.Fatalf("Consistency(%d, %d): %v", a, b, err)
					}
					ra, rb := refRoot(hs[:a]), refRoot(hs[:b])
					raw := make([][]byte, len(cp))
					for k := range cp {
						raw[k] = cp[k][:]
					}
					if err := proof.VerifyConsistency(hasher, a, b, raw, ra[:], rb[:]); err != nil {
						t.Fatalf("merkle.VerifyConsistency(%d, %d): %v", a, b, err)
					}
					if a < b {
						if err := tlog.CheckTree(cp, int64(b), rb, int64(a), ra); err != nil {
							t.Fatalf("tlog.CheckTree(%d, %d): %v", a, b, err)
						}
					} else if len(cp) != 0 {
						t.Fatalf("Consistency(%d, %d) not empty", a, b)
					}
				}
			}
		})
	}
}

func TestConsistencyRange(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	ctx := context.Background()
	if _, err := l.Consistency(ctx, "nolog", 1, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty log: %v, want ErrNotFound", err)
	}
	for range 5 {
		mustAppend(t, l, Entry{Log: "s", Leaf: []byte("x")})
	}
	for _, c := range [][2]uint64{{0, 3}, {4, 3}, {1, 6}, {0, 0}, {6, 6}} {
		if _, err := l.Consistency(ctx, "s", c[0], c[1]); !errors.Is(err, ErrRange) {
			t.Errorf("Consistency(%d, %d) = %v, want ErrRange", c[0], c[1], err)
		}
	}
}

// TestGroupCommit holds the first commit in OnCommit until every other
// appender is queued, so the second commit must carry them all at once.
func TestGroupCommit(t *testing.T) {
	const n = 200
	var (
		mu      sync.Mutex
		batches []int
		l       *Ledger
		ready   = make(chan struct{})
	)
	l = mustOpen(t, t.TempDir(), func(o *Options) {
		o.OnCommit = func(batch int, d time.Duration) {
			mu.Lock()
			batches = append(batches, batch)
			first := len(batches) == 1
			mu.Unlock()
			if first {
				<-ready
				deadline := time.Now().Add(10 * time.Second)
				for len(l.queue) < n-batch && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			}
		}
	})
	close(ready)
	var wg sync.WaitGroup
	idx := make([]uint64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Append(context.Background(), Entry{Log: "busy", ID: newID(), Leaf: fmt.Appendf(nil, "leaf %d", i)})
			if err != nil {
				t.Errorf("Append: %v", err)
			}
			idx[i] = a.Index
		}()
	}
	wg.Wait()
	seen := make(map[uint64]bool)
	for _, x := range idx {
		if x >= n || seen[x] {
			t.Fatalf("index %d duplicated or out of range", x)
		}
		seen[x] = true
	}
	if l.Size("busy") != n {
		t.Fatalf("Size = %d", l.Size("busy"))
	}
	mu.Lock()
	defer mu.Unlock()
	total, biggest := 0, 0
	for _, b := range batches {
		total += b
		biggest = max(biggest, b)
	}
	if total != n || biggest < 2 {
		t.Fatalf("batches %v: total %d, biggest %d; want group commits", batches, total, biggest)
	}
}

func TestNonceIdempotency(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	const n = 50
	results := make([]Appended, n)
	leaves := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		leaves[i] = leafJSON("site", strconv.Itoa(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Append(context.Background(), Entry{Log: "site", ID: newID(), Nonce: "nonce-0123456789abcdef", Leaf: leaves[i]})
			if err != nil {
				t.Errorf("Append: %v", err)
			}
			results[i] = a
		}()
	}
	wg.Wait()
	if got := l.Size("site"); got != 1 {
		t.Fatalf("Size = %d, want 1", got)
	}
	firsts := 0
	for _, a := range results {
		if !a.Duplicate {
			firsts++
		}
		if a.ID != results[0].ID || a.Index != 0 || a.LeafHash != results[0].LeafHash || !bytes.Equal(a.Leaf, results[0].Leaf) {
			t.Fatalf("duplicate answered differently: %+v vs %+v", a, results[0])
		}
	}
	if firsts != 1 {
		t.Fatalf("%d appends not marked duplicate, want 1", firsts)
	}
	if tlog.RecordHash(results[0].Leaf) != results[0].LeafHash {
		t.Fatal("returned leaf does not match its hash")
	}
	// Later, after commit: still the original; same nonce in another log is new.
	a := mustAppend(t, l, Entry{Log: "site", Nonce: "nonce-0123456789abcdef", Leaf: []byte("other")})
	if !a.Duplicate || a.ID != results[0].ID || !bytes.Equal(a.Leaf, results[0].Leaf) {
		t.Fatalf("late duplicate: %+v", a)
	}
	b := mustAppend(t, l, Entry{Log: "site2", Nonce: "nonce-0123456789abcdef", Leaf: []byte("other")})
	if b.Duplicate || b.Index != 0 {
		t.Fatalf("nonce of another log treated as duplicate: %+v", b)
	}
}

func TestDuplicateID(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	a := mustAppend(t, l, Entry{Log: "s1", Leaf: []byte("a")})
	_, err := l.Append(context.Background(), Entry{Log: "s2", ID: a.ID, Leaf: []byte("b")})
	if !errors.Is(err, ErrDupID) {
		t.Fatalf("reused id: %v, want ErrDupID", err)
	}
	if l.Size("s2") != 0 || l.Size("s1") != 1 {
		t.Fatal("sizes changed")
	}
	// The same id twice in one batch: exactly one wins, the other batch
	// members are unaffected.
	id := newID()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := Entry{Log: "s3", ID: newID(), Leaf: []byte("c")}
			if i%2 == 0 {
				e.ID = id
			}
			_, errs[i] = l.Append(context.Background(), e)
		}()
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrDupID):
			dup++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 11 || dup != 9 || l.Size("s3") != 11 {
		t.Fatalf("ok %d dup %d size %d", ok, dup, l.Size("s3"))
	}
}

func TestBadEntries(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	mustAppend(t, l, Entry{Log: "good", Leaf: []byte("x")})
	now := time.Now()
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"empty log", Entry{Log: "", ID: "i1", Leaf: []byte("x")}},
		{"long log", Entry{Log: long, ID: "i2", Leaf: []byte("x")}},
		{"two slashes", Entry{Log: "a/b/c", ID: "i3", Leaf: []byte("x")}},
		{"leading slash", Entry{Log: "/good", ID: "i4", Leaf: []byte("x")}},
		{"trailing slash", Entry{Log: "good/", ID: "i5", Leaf: []byte("x")}},
		{"dot", Entry{Log: "go.od", ID: "i6", Leaf: []byte("x")}},
		{"space", Entry{Log: "go od", ID: "i7", Leaf: []byte("x")}},
		{"unicode", Entry{Log: "gööd", ID: "i8", Leaf: []byte("x")}},
		{"empty id", Entry{Log: "good", ID: "", Leaf: []byte("x")}},
		{"bad id", Entry{Log: "good", ID: "a/b", Leaf: []byte("x")}},
		{"long id", Entry{Log: "good", ID: strings.Repeat("i", 129), Leaf: []byte("x")}},
		{"bad nonce", Entry{Log: "good", ID: "i9", Nonce: "no nce", Leaf: []byte("x")}},
		{"empty leaf", Entry{Log: "good", ID: "i10"}},
		{"oversized leaf", Entry{Log: "good", ID: "i11", Leaf: make([]byte, 64<<10+1)}},
		{"future time", Entry{Log: "good", ID: "i12", Time: now.Add(72 * time.Hour), Leaf: []byte("x")}},
		{"before 1970", Entry{Log: "good", ID: "i13", Time: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), Leaf: []byte("x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(context.Background(), tc.e)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if l.Size("good") != 1 || len(l.Logs()) != 1 {
		t.Fatalf("size %d, logs %v", l.Size("good"), l.Logs())
	}
	// Exactly 64 KiB is fine.
	mustAppend(t, l, Entry{Log: "good", Leaf: make([]byte, 64<<10)})
}

func TestPushbackAndClosed(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{}, 10)
	l := mustOpen(t, t.TempDir(), func(o *Options) {
		o.MaxPending = 2
		o.MaxBatch = 1
		o.OnCommit = func(int, time.Duration) { entered <- struct{}{}; <-block }
	})
	ctx := context.Background()
	errs := make(chan error, 10)
	appendOne := func() {
		_, err := l.Append(ctx, Entry{Log: "p", ID: newID(), Leaf: []byte("x")})
		errs <- err
	}
	go appendOne()
	<-entered // the writer holds the first append in OnCommit
	go appendOne()
	go appendOne()
	deadline := time.Now().Add(10 * time.Second)
	for len(l.queue) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := l.Append(ctx, Entry{Log: "p", ID: newID(), Leaf: []byte("x")}); !errors.Is(err, ErrPushback) {
		t.Fatalf("full queue: %v, want ErrPushback", err)
	}
	close(block)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("queued append: %v", err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, Entry{Log: "p", ID: newID(), Leaf: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := l.Proof(ctx, "whatever"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Proof after Close: %v", err)
	}
}

// TestCloseDrains: appends queued when Close is called all complete, and
// Close signs their checkpoint.
func TestCloseDrains(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, func(o *Options) { o.CheckpointInterval = time.Hour })
	var wg sync.WaitGroup
	var okCount sync.Map
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(context.Background(), Entry{Log: "d", ID: newID(), Leaf: []byte{byte(i)}}); err == nil {
				okCount.Store(i, true)
			} else if !errors.Is(err, ErrClosed) {
				t.Errorf("Append: %v", err)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	n := 0
	okCount.Range(func(any, any) bool { n++; return true })
	l2 := mustOpen(t, dir)
	if l2.Size("d") != uint64(n) {
		t.Fatalf("size %d after reopen, %d appends acknowledged", l2.Size("d"), n)
	}
	if n > 0 {
		cp, err := l2.Checkpoint("d")
		if err != nil {
			t.Fatalf("no final checkpoint: %v", err)
		}
		if _, size, _, _ := ParseCheckpoint(cp, l2.Verifier()); size != uint64(n) {
			t.Fatalf("final checkpoint size %d, want %d", size, n)
		}
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	var ids []string
	for i := range 40 {
		a := mustAppend(t, l, Entry{Log: "p1", Leaf: leafJSON("p1", strconv.Itoa(i))})
		ids = append(ids, a.ID)
	}
	cp1 := waitCheckpoint(t, l, "p1", 40)
	vkey := l.VerifierKey()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = mustOpen(t, dir)
	if l.VerifierKey() != vkey {
		t.Fatal("verifier key changed across reopen")
	}
	if l.Size("p1") != 40 {
		t.Fatalf("size after reopen %d", l.Size("p1"))
	}
	for _, id := range ids {
		if err := mustProof(t, l, id).Verify(l.Verifier()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		ids = append(ids, mustAppend(t, l, Entry{Log: "p1", Leaf: leafJSON("p1", strconv.Itoa(i))}).ID)
	}
	cp2 := waitCheckpoint(t, l, "p1", 65)
	pr, err := l.Consistency(context.Background(), "p1", 40, 65)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(l.Verifier(), cp1, cp2, pr); err != nil {
		t.Fatalf("VerifyConsistency: %v", err)
	}
	if err := VerifyConsistency(l.Verifier(), cp2, cp1, pr); !errors.Is(err, ErrVerify) {
		t.Fatalf("swapped checkpoints: %v", err)
	}
	bad := append([]tlog.Hash(nil), pr...)
	bad[0][0] ^= 1
	if err := VerifyConsistency(l.Verifier(), cp1, cp2, bad); !errors.Is(err, ErrVerify) {
		t.Fatalf("tampered consistency proof: %v", err)
	}
	if err := VerifyConsistency(l.Verifier(), cp2, cp2, nil); err != nil {
		t.Fatalf("same checkpoint: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Another host name must not reuse the key.
	if _, err := Open(Options{Dir: dir, Host: "other.example"}); err == nil || !strings.Contains(err.Error(), "crumb.test") {
		t.Fatalf("Open with another host: %v", err)
	}
}

func TestProofWaitsForCheckpoint(t *testing.T) {
	l := mustOpen(t, t.TempDir(), func(o *Options) { o.CheckpointInterval = 200 * time.Millisecond })
	a := mustAppend(t, l, Entry{Log: "w", Leaf: []byte(`{"a":1}`)})
	p, err := l.Proof(context.Background(), a.ID) // no checkpoint yet: must wait, not fail
	if err != nil {
		t.Fatalf("Proof: %v", err)
	}
	if p.TreeSize < 1 || string(p.Record) != `{"a":1}` {
		t.Fatalf("proof %+v", p)
	}
	if _, err := l.Proof(context.Background(), "unknown-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := mustAppend(t, l, Entry{Log: "w", Leaf: []byte("x")})
	if _, err := l.Proof(ctx, b.ID); err == nil {
		// The checkpoint may already cover it; then no wait happened.
		if l.Size("w") != 2 {
			t.Fatal("size")
		}
	} else if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestCheckpointNotFound(t *testing.T) {
	l := mustOpen(t, t.TempDir(), func(o *Options) { o.CheckpointInterval = time.Hour })
	if _, err := l.Checkpoint("none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

// otherKey returns a verifier and a signer of another key with the same name.
func otherKey(t *testing.T) (note.Signer, note.Verifier) {
	skey, vkey, err := note.GenerateKey(nil, testHost)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestVerifyRejects(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	var ids []string
	for i := range 7 {
		ids = append(ids, mustAppend(t, l, Entry{Log: "v", Leaf: leafJSON("v", strconv.Itoa(i))}).ID)
	}
	mustAppend(t, l, Entry{Log: "other", Leaf: []byte("o")})
	tricky := mustAppend(t, l, Entry{Log: "sites/scans", Leaf: []byte("t")})
	waitCheckpoint(t, l, "v", 7)
	// Origin "crumb.test/sites/sites/scans" ends with "/sites/scans", yet it
	// is not the log of site "scans".
	tp := mustProof(t, l, tricky.ID)
	tp.Site = "scans"
	if err := tp.Verify(l.Verifier()); !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("suffix-confused origin: %v", err)
	}
	otherCP := waitCheckpoint(t, l, "other", 1)
	good := mustProof(t, l, ids[3])
	if err := good.Verify(l.Verifier()); err != nil {
		t.Fatal(err)
	}
	otherSigner, otherVerifier := otherKey(t)
	clone := func() *Proof {
		data, _ := json.Marshal(good)
		p, err := ParseProof(data)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	resign := func(text string) string {
		msg, err := note.Sign(&note.Note{Text: text}, otherSigner)
		if err != nil {
			t.Fatal(err)
		}
		return string(msg)
	}
	body := strings.SplitAfterN(good.Checkpoint, "\n\n", 2)[0]
	body = body[:len(body)-1]
	for _, tc := range []struct {
		name   string
		mutate func(p *Proof)
		v      note.Verifier
		want   string
	}{
		{"tampered leaf", func(p *Proof) { p.Leaf[10] ^= 1 }, nil, "leaf does not hash"},
		{"tampered record", func(p *Proof) {
			p.Record = bytes.Replace(p.Record, []byte(`"marker":"3"`), []byte(`"marker":"4"`), 1)
		}, nil, "record differs"},
		{"record not JSON-equal", func(p *Proof) { p.Record = json.RawMessage(`{}`) }, nil, "record differs"},
		{"tampered leaf and hash", func(p *Proof) {
			p.Leaf[10] ^= 1
			h := tlog.RecordHash(p.Leaf)
			p.LeafHash = h[:]
			p.Record = nil
		}, nil, "inclusion"},
		{"wrong index", func(p *Proof) { p.Index = 2 }, nil, "inclusion"},
		{"wrong key", nil, otherVerifier, "not signed"},
		{"re-signed by other key", func(p *Proof) { p.Checkpoint = resign(body) }, nil, "not signed"},
		{"other origin", func(p *Proof) { p.Checkpoint = string(otherCP) }, nil, "origin"},
		{"site renamed", func(p *Proof) { p.Site = "other" }, nil, "origin"},
		{"truncated inclusion", func(p *Proof) { p.Inclusion = p.Inclusion[:len(p.Inclusion)-1] }, nil, "inclusion"},
		{"tampered inclusion", func(p *Proof) { p.Inclusion[0][0] ^= 1 }, nil, "inclusion"},
		{"tree size", func(p *Proof) { p.TreeSize++ }, nil, "size"},
		{"tampered checkpoint", func(p *Proof) { p.Checkpoint = strings.Replace(p.Checkpoint, "\n7\n", "\n8\n", 1) }, nil, "checkpoint"},
		{"short leaf hash", func(p *Proof) { p.LeafHash = p.LeafHash[:31] }, nil, "leaf_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := clone()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			v := tc.v
			if v == nil {
				v = l.Verifier()
			}
			err := p.Verify(v)
			if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want ErrVerify mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseProofRejects(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	a := mustAppend(t, l, Entry{Log: "pp", Leaf: []byte(`{"x":"<&>"}`)})
	mustAppend(t, l, Entry{Log: "pp", Leaf: []byte("y")})
	waitCheckpoint(t, l, "pp", 2)
	good, err := json.Marshal(mustProof(t, l, a.ID))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProof(good)
	if err != nil {
		t.Fatalf("ParseProof(good): %v", err)
	}
	if err := p.Verify(l.Verifier()); err != nil {
		t.Fatalf("round-tripped proof (record HTML-escaped by encoding/json) fails: %v", err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not json", []byte("proof")},
		{"trailing", append(append([]byte(nil), good...), []byte(" {}")...)},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 })},
		{"wrong type", edit(func(m map[string]any) { m["index"] = "0" })},
		{"index beyond size", edit(func(m map[string]any) { m["index"] = 2 })},
		{"zero size", edit(func(m map[string]any) { m["tree_size"] = 0 })},
		{"short hash", edit(func(m map[string]any) { m["leaf_hash"] = base64.StdEncoding.EncodeToString(make([]byte, 31)) })},
		{"short inclusion", edit(func(m map[string]any) { m["inclusion"] = []string{"AAAA"} })},
		{"no checkpoint", edit(func(m map[string]any) { delete(m, "checkpoint") })},
		{"bad site", edit(func(m map[string]any) { m["site"] = "a b" })},
		{"bad erased_at", edit(func(m map[string]any) { delete(m, "leaf"); delete(m, "record"); m["erased_at"] = "yesterday" })},
		{"leaf and erased_at", edit(func(m map[string]any) { m["erased_at"] = "2024-01-01T00:00:00Z" })},
		{"record without leaf", edit(func(m map[string]any) { delete(m, "leaf") })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseProof(tc.data); !errors.Is(err, ErrVerify) {
				t.Fatalf("ParseProof = %v, want ErrVerify", err)
			}
		})
	}
}

// parseTlogProof is a reader of the C2SP tlog-proof format written from
// the spec, to check TlogProof's output independently.
func parseTlogProof(t *testing.T, text string) (index uint64, hashes [][]byte, checkpoint string) {
	t.Helper()
	head, cp, ok := strings.Cut(text, "\n\n")
	if !ok {
		t.Fatalf("no blank line in %q", text)
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		t.Fatalf("first line %q", lines[0])
	}
	rest := lines[1:]
	if strings.HasPrefix(rest[0], "extra ") {
		rest = rest[1:]
	}
	num, ok := strings.CutPrefix(rest[0], "index ")
	if !ok {
		t.Fatalf("no index line: %q", rest[0])
	}
	index, err := strconv.ParseUint(num, 10, 64)
	if err != nil || strconv.FormatUint(index, 10) != num {
		t.Fatalf("bad index %q", num)
	}
	for _, line := range rest[1:] {
		h, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(h) != 32 {
			t.Fatalf("bad hash line %q", line)
		}
		hashes = append(hashes, h)
	}
	return index, hashes, cp
}

func TestTlogProof(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	var ids []string
	for i := range 11 {
		ids = append(ids, mustAppend(t, l, Entry{Log: "tp", Leaf: []byte{byte(i)}}).ID)
	}
	waitCheckpoint(t, l, "tp", 11)
	for _, id := range []string{ids[0], ids[5], ids[10]} {
		p := mustProof(t, l, id)
		text := p.TlogProof()
		index, hashes, cp := parseTlogProof(t, text)
		if index != p.Index || cp != p.Checkpoint || len(hashes) != len(p.Inclusion) {
			t.Fatalf("tlog-proof does not carry the proof:\n%s", text)
		}
		for i := range hashes {
			if !bytes.Equal(hashes[i], p.Inclusion[i]) {
				t.Fatalf("hash %d differs", i)
			}
		}
		// Verify it as a tlog-proof verifier would, from the leaf it brings.
		_, size, root, err := ParseCheckpoint([]byte(cp), l.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		rp := make(tlog.RecordProof, len(hashes))
		for i := range hashes {
			copy(rp[i][:], hashes[i])
		}
		if err := tlog.CheckRecord(rp, int64(size), root, int64(index), tlog.RecordHash(p.Leaf)); err != nil {
			t.Fatalf("tlog-proof does not verify: %v", err)
		}
	}
	// Shape of the text, golden-ish.
	p := mustProof(t, l, ids[5])
	want := "c2sp.org/tlog-proof@v1\nindex 5\n"
	if !strings.HasPrefix(p.TlogProof(), want) || !strings.HasSuffix(p.TlogProof(), "\n\n"+p.Checkpoint) {
		t.Fatalf("tlog-proof text:\n%s", p.TlogProof())
	}
}

func TestParseCheckpoint(t *testing.T) {
	s, v := otherKey(t)
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	sign := func(text string) []byte {
		msg, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"h/sites/a\n5\n" + root + "\n", true},
		{"h/sites/a\n5\n" + root + "\nextension\n", true},
		{"h/sites/a\n05\n" + root + "\n", false},
		{"h/sites/a\n-5\n" + root + "\n", false},
		{"h/sites/a\n5\n", false},
		{"h/sites/a\n5\nAAAA\n", false},
		{"\n5\n" + root + "\n", false},
		{"h/sites/a\n99999999999999999999\n" + root + "\n", false},
	} {
		origin, size, _, err := ParseCheckpoint(sign(tc.text), v)
		if (err == nil) != tc.ok {
			t.Errorf("ParseCheckpoint(%q) = %v, want ok=%v", tc.text, err, tc.ok)
		}
		if tc.ok && (origin != "h/sites/a" || size != 5) {
			t.Errorf("parsed %q %d", origin, size)
		}
	}
	if _, _, _, err := ParseCheckpoint([]byte("h/sites/a\n5\n"+root+"\n"), v); !errors.Is(err, ErrVerify) {
		t.Errorf("unsigned: %v", err)
	}
}

// TestFailedCommit aborts a group commit midway: every caller of the batch
// gets the error, and nothing of it is visible afterwards.
func TestFailedCommit(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	for range 5 {
		mustAppend(t, l, Entry{Log: "f", Leaf: []byte("before")})
	}
	boom := errors.New("disk on fire")
	l.batchMu.Lock()
	l.failApply = func(i int) error {
		if i == 3 {
			return boom
		}
		return nil
	}
	l.batchMu.Unlock()
	var reqs []*request
	for i := range 6 {
		reqs = append(reqs, &request{e: Entry{Log: []string{"f", "g"}[i%2], ID: fmt.Sprintf("failed-%d", i), Nonce: fmt.Sprintf("nonce-%d", i), Leaf: []byte("lost")}, day: uint32(dayOf(time.Now())), res: make(chan result, 1)})
	}
	l.commit(reqs)
	for _, r := range reqs {
		if res := <-r.res; !errors.Is(res.err, boom) {
			t.Fatalf("caller got %v, want the commit error", res.err)
		}
	}
	l.batchMu.Lock()
	l.failApply = nil
	l.batchMu.Unlock()
	if l.Size("f") != 5 || l.Size("g") != 0 {
		t.Fatalf("sizes %d %d after failed commit", l.Size("f"), l.Size("g"))
	}
	if _, err := l.Proof(context.Background(), "failed-0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("id of a failed commit: %v", err)
	}
	// The same ids and nonces work now, at the old positions.
	for i := range 6 {
		a := mustAppend(t, l, Entry{Log: []string{"f", "g"}[i%2], ID: fmt.Sprintf("failed-%d", i), Nonce: fmt.Sprintf("nonce-%d", i), Leaf: []byte("kept")})
		if a.Duplicate || a.Index != uint64(5*(1-i%2)+i/2) {
			t.Fatalf("retry %d: %+v", i, a)
		}
	}
	for i := range 6 {
		if err := mustProof(t, l, fmt.Sprintf("failed-%d", i)).Verify(l.Verifier()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocate(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	a, err := l.Append(context.Background(), Entry{Log: "site-a", ID: "locate-me-0000000000", Time: time.Now(), Leaf: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), Entry{Log: "site-a", ID: "locate-me-0000000001", Time: time.Now(), Leaf: []byte(`{"x":2}`)}); err != nil {
		t.Fatal(err)
	}
	log, index, err := l.Locate("locate-me-0000000000")
	if err != nil || log != "site-a" || index != a.Index {
		t.Fatalf("Locate = %q, %d, %v", log, index, err)
	}
	if _, index, _ := l.Locate("locate-me-0000000001"); index != 1 {
		t.Fatalf("second entry at %d", index)
	}
	for _, id := range []string{"no-such-id-000000000", "", "bad id with spaces"} {
		if _, _, err := l.Locate(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Locate(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestProcs(t *testing.T) {
	if got := Procs(""); got != startProcs+1 {
		t.Errorf("Procs() = %d, want %d", got, startProcs+1)
	}
	if got := Procs("1"); got != startProcs {
		t.Errorf("Procs with GOMAXPROCS set = %d, want %d (the runtime's choice)", got, startProcs)
	}
}
