package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testCodec is an id codec under a fixed seed.
func testCodec(tb testing.TB, seed byte) *idCodec {
	tb.Helper()
	c, err := newIDCodec(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestIDCodecRoundTrip(t *testing.T) {
	c := testCodec(t, 1)
	seen := map[string]bool{}
	for _, seq := range []uint64{0, 1, 2, 255, 256, 1 << 32, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		id := c.encode(seq)
		if len(id) != 22 || !validID(id) || strings.ContainsAny(id, "=.~") {
			t.Fatalf("encode(%d) = %q: want 22 chars of base64url", seq, id)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(raw) != 16 {
			t.Fatalf("encode(%d) = %q is not 16 bytes of base64url: %v", seq, id, err)
		}
		if got, ok := c.decode(id); !ok || got != seq {
			t.Fatalf("decode(encode(%d)) = %d, %v", seq, got, ok)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
	// Consecutive sequence numbers give unrelated-looking ids.
	if a, b := c.encode(1000), c.encode(1001); a[:8] == b[:8] {
		t.Fatalf("ids %q and %q share a prefix", a, b)
	}
}

// TestIDCodecForeign checks that ids the ledger did not make are not taken
// for its own: random 128-bit ids, ids of another key, other spellings of
// an own id, and malformed strings.
func TestIDCodecForeign(t *testing.T) {
	c, other := testCodec(t, 1), testCodec(t, 2)
	for range 20000 {
		var b [16]byte
		rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:]) // consent.NewID's format
		if _, ok := c.decode(id); ok {
			t.Fatalf("random id %q taken for an own id", id)
		}
	}
	for seq := range uint64(1000) {
		if _, ok := c.decode(other.encode(seq)); ok {
			t.Fatalf("id %d of another key taken for an own id", seq)
		}
	}
	own := c.encode(42)
	// The last character carries 2 data bits and 4 spare bits: every other
	// character with the same data bits is another spelling of the bytes.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, ch := range alphabet {
		alt := own[:21] + string(ch)
		if alt == own {
			continue
		}
		if seq, ok := c.decode(alt); ok {
			t.Fatalf("%q (another spelling of %q) decoded to %d", alt, own, seq)
		}
	}
	for _, bad := range []string{"", own[:21], own + "A", own + "==", "!" + own[1:], strings.Repeat("A", 22), strings.ToUpper(own)} {
		if seq, ok := c.decode(bad); ok {
			t.Fatalf("decode(%q) = %d, ok", bad, seq)
		}
	}
}

// FuzzIDDecode: decode never panics, accepts only the one spelling encode
// makes, and round-trips every sequence number.
func FuzzIDDecode(f *testing.F) {
	c := testCodec(f, 1)
	f.Add(c.encode(0), uint64(0))
	f.Add(c.encode(123456789), uint64(1))
	f.Add(testCodec(f, 2).encode(7), uint64(1<<40))
	f.Add("AAAAAAAAAAAAAAAAAAAAAA", uint64(math.MaxUint64))
	f.Add("s1_consent-id-from-a-caller", uint64(99))
	f.Add(c.encode(5)[:21]+"B", uint64(5))
	f.Add("", uint64(0))
	f.Fuzz(func(t *testing.T, id string, seq uint64) {
		if got, ok := c.decode(id); ok {
			if again := c.encode(got); again != id {
				t.Fatalf("decode(%q) = %d, but encode(%d) = %q", id, got, got, again)
			}
		}
		id = c.encode(seq)
		if got, ok := c.decode(id); !ok || got != seq {
			t.Fatalf("decode(encode(%d)) = %d, %v", seq, got, ok)
		}
	})
}

// TestNewID: concurrent NewIDs are distinct, well formed, the ledger's own,
// and consecutive sequence numbers.
func TestNewID(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	const workers, each = 8, 500
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ids[w] = append(ids[w], l.NewID())
			}
		}()
	}
	wg.Wait()
	seqs := map[uint64]bool{}
	for _, list := range ids {
		for _, id := range list {
			seq, ok := l.idc.decode(id)
			if !ok || !validID(id) || len(id) != 22 {
				t.Fatalf("NewID gave %q (own %v)", id, ok)
			}
			if seqs[seq] {
				t.Fatalf("sequence %d handed out twice", seq)
			}
			seqs[seq] = true
		}
	}
	for seq := range uint64(workers * each) {
		if !seqs[seq] {
			t.Fatalf("sequence %d skipped by a fresh ledger", seq)
		}
	}
}

// TestNewIDAcrossRestart: after a restart NewID never repeats a committed
// id, and committed ids are still found.
func TestNewIDAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	committed := map[string]uint64{}
	for i := range 10 {
		id := l.NewID()
		if i%3 == 1 {
			continue // handed out, never appended: a gap
		}
		a := mustAppend(t, l, Entry{Log: "r", ID: id, Leaf: []byte("x")})
		committed[id] = a.Index
	}
	maxSeq, _ := l.idc.decode(l.NewID()) // handed out, never appended
	maxSeq--
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		l = mustOpen(t, dir)
		for i := range 20 {
			id := l.NewID()
			seq, _ := l.idc.decode(id)
			if _, dup := committed[id]; dup || seq <= maxSeq {
				t.Fatalf("round %d: NewID gave sequence %d (committed up to %d)", round, seq, maxSeq)
			}
			if i == 0 && seq != maxSeq+1 {
				// Ids handed out but never committed may come back:
				// nobody was told of them.
				t.Fatalf("round %d: first sequence %d, want %d", round, seq, maxSeq+1)
			}
			a := mustAppend(t, l, Entry{Log: "r", ID: id, Leaf: []byte("y")})
			committed[id] = a.Index
			maxSeq = max(maxSeq, seq)
		}
		for id, index := range committed {
			log, n, err := l.Locate(id)
			if err != nil || log != "r" || n != index {
				t.Fatalf("round %d: Locate(%q) = %q, %d, %v; want r, %d", round, id, log, n, err, index)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMixedIDs puts ids made by NewID and ids made by callers in one log
// (as a site's consents and another log's scan reports): Locate, Proof,
// duplicate ids and nonce duplicates work for both kinds, each kind lands
// in its own index, and all of it survives a restart.
func TestMixedIDs(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	type ent struct {
		id, nonce string
		own       bool
		a         Appended
	}
	var ents []ent
	for i := range 30 {
		e := ent{own: i%2 == 0, nonce: "nonce-mixed-" + newID()}
		if e.own {
			e.id = l.NewID()
		} else {
			e.id = newID()
		}
		e.a = mustAppend(t, l, Entry{Log: "mix", ID: e.id, Nonce: e.nonce, Leaf: leafJSON("mix", e.id)})
		ents = append(ents, e)
	}
	check := func(l *Ledger) {
		t.Helper()
		for _, e := range ents {
			log, n, err := l.Locate(e.id)
			if err != nil || log != "mix" || n != e.a.Index {
				t.Fatalf("Locate(%q, own %v) = %q, %d, %v", e.id, e.own, log, n, err)
			}
			p := mustProof(t, l, e.id)
			if err := p.Verify(l.Verifier()); err != nil || p.Index != e.a.Index || p.ID != e.id {
				t.Fatalf("proof of %q: %v (index %d)", e.id, err, p.Index)
			}
			// A reused id, in the same log or another, is refused.
			for _, log := range []string{"mix", "other"} {
				if _, err := l.Append(context.Background(), Entry{Log: log, ID: e.id, Leaf: []byte("again")}); !errors.Is(err, ErrDupID) {
					t.Fatalf("reused id %q (own %v) in %s: %v", e.id, e.own, log, err)
				}
			}
			// A retried nonce answers with the original, whatever the new id.
			for _, id := range []string{l.NewID(), newID()} {
				a := mustAppend(t, l, Entry{Log: "mix", ID: id, Nonce: e.nonce, Leaf: []byte("retry")})
				if !a.Duplicate || a.ID != e.id || a.Index != e.a.Index || !bytes.Equal(a.Leaf, e.a.Leaf) {
					t.Fatalf("retried nonce of %q: %+v", e.id, a)
				}
			}
		}
		if l.Size("mix") != uint64(len(ents)) || l.Size("other") != 0 {
			t.Fatalf("sizes %d, %d", l.Size("mix"), l.Size("other"))
		}
	}
	check(l)
	// Each kind in its own index.
	err := l.view(func(tx *bolt.Tx) error {
		own, foreign := tx.Bucket(bktSeqIDs).Stats().KeyN, tx.Bucket(bktIDs).Stats().KeyN
		if own != 15 || foreign != 15 {
			t.Errorf("idseq/ holds %d ids, ids/ %d; want 15 and 15", own, foreign)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check(mustOpen(t, dir))
}

// TestDuplicateOwnIDInBatch: the same NewID id twice in one group commit:
// the first wins, the second gets ErrDupID, the rest of the batch is fine.
func TestDuplicateOwnIDInBatch(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	id := l.NewID()
	day := uint32(dayOf(time.Now()))
	var reqs []*request
	for i := range 5 {
		e := Entry{Log: "b", ID: l.NewID(), Leaf: []byte{byte(i)}}
		if i == 1 || i == 3 {
			e.ID = id
		}
		reqs = append(reqs, &request{e: e, day: day, res: make(chan result, 1)})
	}
	l.commit(reqs)
	for i, r := range reqs {
		res := <-r.res
		switch {
		case i == 3 && !errors.Is(res.err, ErrDupID):
			t.Fatalf("second use of %q: %v, want ErrDupID", id, res.err)
		case i != 3 && res.err != nil:
			t.Fatalf("entry %d: %v", i, res.err)
		}
	}
	if l.Size("b") != 4 {
		t.Fatalf("size %d, want 4", l.Size("b"))
	}
	if log, n, err := l.Locate(id); err != nil || log != "b" || n != 1 {
		t.Fatalf("Locate = %q, %d, %v", log, n, err)
	}
}

// TestOldLayoutFile opens a ledger.db as the ledger wrote it before NewID
// and the nonce index existed (buckets logs/ and ids/ only: every id in
// ids/, each log's nonces in its n/ bucket as nonce → id), then appends both
// kinds of id to the same log, proves old and new entries and finds old and
// new nonces.
func TestOldLayoutFile(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	var old []string
	nonce := func(i int) string { return "old-nonce-" + string(rune('a'+i)) }
	for i := range 12 {
		old = append(old, mustAppend(t, l, Entry{Log: "legacy", Nonce: nonce(i), Leaf: leafJSON("legacy", "old")}).ID)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Make the file exactly what the earlier code wrote.
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktSeqIDs, bktMeta, bktNonceIdx} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		n, err := logBucket(tx, "legacy").CreateBucket(bktNonces)
		if err != nil {
			return err
		}
		for i, id := range old {
			if err := n.Put([]byte(nonce(i)), []byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	l = mustOpen(t, dir)
	var fresh []string
	for i := range 12 {
		id := l.NewID()
		if i%2 == 1 {
			id = newID()
		}
		mustAppend(t, l, Entry{Log: "legacy", ID: id, Leaf: leafJSON("legacy", "new")})
		fresh = append(fresh, id)
	}
	for i, id := range append(old, fresh...) {
		log, n, err := l.Locate(id)
		if err != nil || log != "legacy" || n != uint64(i) {
			t.Fatalf("Locate(%q) = %q, %d, %v; want legacy, %d", id, log, n, err, i)
		}
		if err := mustProof(t, l, id).Verify(l.Verifier()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range old {
		a := mustAppend(t, l, Entry{Log: "legacy", ID: l.NewID(), Nonce: nonce(i), Leaf: []byte("retry")})
		if !a.Duplicate || a.ID != old[i] || a.Index != uint64(i) {
			t.Fatalf("old nonce after the upgrade: %+v", a)
		}
	}
	b := mustAppend(t, l, Entry{Log: "legacy", ID: l.NewID(), Nonce: "new-nonce-0123456789", Leaf: []byte("new")})
	if b.Duplicate || b.Index != 24 {
		t.Fatalf("new nonce: %+v", b)
	}
	if c := mustAppend(t, l, Entry{Log: "legacy", ID: l.NewID(), Nonce: "new-nonce-0123456789", Leaf: []byte("retry")}); !c.Duplicate || c.ID != b.ID {
		t.Fatalf("new nonce retried: %+v", c)
	}
	if l.Size("legacy") != 25 {
		t.Fatalf("size %d, want 25", l.Size("legacy"))
	}
}

// TestIDKeyReplaced: a ledger.db whose ids were made under one ledger.key
// refuses to open with another one (its ids would no longer be found);
// without such ids a new key is fine.
func TestIDKeyReplaced(t *testing.T) {
	dir, spare := t.TempDir(), t.TempDir()
	l := mustOpen(t, dir)
	mustAppend(t, l, Entry{Log: "k", ID: newID(), Leaf: []byte("foreign id only")})
	l.Close()
	s := mustOpen(t, spare)
	s.Close()
	swapKey := func() {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(spare, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, keyFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		spare = t.TempDir()
		s := mustOpen(t, spare)
		s.Close()
	}
	swapKey()
	l = mustOpen(t, dir) // no own ids yet: accepted
	id := l.NewID()
	mustAppend(t, l, Entry{Log: "k", ID: id, Leaf: []byte("own id")})
	l.Close()
	swapKey()
	if _, err := Open(Options{Dir: dir, Host: testHost}); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("Open with a replaced ledger.key: %v", err)
	}
}
