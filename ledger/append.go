package ledger

import (
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Entry is one record to append.
type Entry struct {
	Log   string    // log name: a site id, or "<site id>/scans"; [A-Za-z0-9_-] plus at most one "/"; ≤ 64 chars
	ID    string    // globally unique record id (URL-safe), best made by Ledger.NewID; Proof(id) finds it; a reused ID is an error
	Nonce string    // optional idempotency key, unique per log
	Time  time.Time // the record's time; chooses the erasure period (UTC day); zero means Options.Now()
	Leaf  []byte    // the exact leaf bytes (hashed as tlog.RecordHash(Leaf)), 1 byte to 64 KiB
}

// Appended reports where an entry landed.
type Appended struct {
	ID        string
	Index     uint64
	LeafHash  tlog.Hash
	Duplicate bool   // the nonce was seen before: this is the FIRST entry with that nonce
	Leaf      []byte // the stored leaf bytes (for a duplicate: the original's; nil if the original was erased)
}

type request struct {
	e   Entry
	day uint32
	res chan result
}

type result struct {
	a   Appended
	err error
}

// Append adds e to its log and returns once the leaf is durably committed
// (the group commit holding it has been fsync'd). Errors:
//   - ErrInvalid: bad log name, ID, nonce, empty or oversized leaf, or a
//     time before 1970 or more than a day ahead of Options.Now; nothing changes.
//   - ErrDupID: e.ID was already used (in any log); nothing changes.
//   - ErrPushback: MaxPending appends are queued; retry later.
//   - ErrClosed: Close has begun.
//   - ctx's error if ctx ends first; the entry may still be committed then.
//
// If e.Nonce was already used in e.Log (committed earlier or earlier in the
// same group commit), no leaf is added: Append returns the first entry with
// that nonce, Duplicate set.
func (l *Ledger) Append(ctx context.Context, e Entry) (Appended, error) {
	day, err := l.validate(&e)
	if err != nil {
		return Appended{}, err
	}
	if err := ctx.Err(); err != nil {
		return Appended{}, ctxErr("append", ctx)
	}
	e.Leaf = append([]byte(nil), e.Leaf...) // the caller may reuse its buffer once we return
	r := &request{e: e, day: day, res: make(chan result, 1)}
	l.intakeMu.RLock()
	if l.closed {
		l.intakeMu.RUnlock()
		return Appended{}, ErrClosed
	}
	select {
	case l.queue <- r:
	default:
		l.intakeMu.RUnlock()
		return Appended{}, ErrPushback
	}
	l.intakeMu.RUnlock()
	select {
	case res := <-r.res:
		return res.a, res.err
	case <-ctx.Done():
		return Appended{}, ctxErr("append", ctx)
	}
}

// validate checks e and returns its erasure day.
func (l *Ledger) validate(e *Entry) (uint32, error) {
	switch {
	case !ValidLogName(e.Log):
		return 0, fmt.Errorf("%w: log name %q (want 1-%d chars of [A-Za-z0-9_-], at most one '/')", ErrInvalid, e.Log, MaxLogName)
	case !validID(e.ID):
		return 0, fmt.Errorf("%w: id %q (want 1-%d URL-safe chars)", ErrInvalid, e.ID, MaxIDSize)
	case e.Nonce != "" && !validID(e.Nonce):
		return 0, fmt.Errorf("%w: nonce %q (want 1-%d URL-safe chars)", ErrInvalid, e.Nonce, MaxIDSize)
	case len(e.Leaf) == 0:
		return 0, fmt.Errorf("%w: empty leaf", ErrInvalid)
	case len(e.Leaf) > MaxLeafSize:
		return 0, fmt.Errorf("%w: leaf of %d bytes (max %d)", ErrInvalid, len(e.Leaf), MaxLeafSize)
	}
	now := l.opts.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	d := dayOf(e.Time)
	if d < 0 || d > dayOf(now)+1 {
		return 0, fmt.Errorf("%w: time %s out of range", ErrInvalid, e.Time.UTC().Format(time.RFC3339))
	}
	return uint32(d), nil
}

// writer is the single goroutine that commits appends: it takes what is
// queued (up to MaxBatch), commits it in one transaction and answers every
// caller. While it commits, the next batch queues up.
func (l *Ledger) writer() {
	defer close(l.wdone)
	batch := make([]*request, 0, l.opts.MaxBatch)
	for {
		r, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], r)
	fill:
		for len(batch) < l.opts.MaxBatch {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		l.commit(batch)
		clear(batch)
	}
}

// logTx is one log's state during a group commit.
type logTx struct {
	name       string
	b          *bolt.Bucket
	h, lv      *bolt.Bucket
	n          *bolt.Bucket // the nonce index of logs written before nonces/ existed; nil for newer logs
	d          *bolt.Bucket
	size       uint64
	key        logKey
	counts     []dayCount  // leaves added per epoch and day, usually one
	recent     []tlog.Hash // hashes put in this batch: stored index recentBase+i
	recentBase int64
	hashes     [64]tlog.Hash // storedHashes' result
	aad        []byte        // seal's scratch

	// the cipher of the last (epoch, day) sealed, to skip keyStore's lock
	aeadFor uint64
	aead    cipher.AEAD
}

type dayCount struct{ key, n uint64 } // key: epoch<<32 | day

func (lt *logTx) count(key uint64) {
	for i := range lt.counts {
		if lt.counts[i].key == key {
			lt.counts[i].n++
			return
		}
	}
	lt.counts = append(lt.counts, dayCount{key, 1})
}

// hash returns the stored hash at index x: from this batch if it was put
// here, else from the bucket.
func (lt *logTx) hash(x int64) (tlog.Hash, error) {
	if i := x - lt.recentBase; i >= 0 && i < int64(len(lt.recent)) {
		return lt.recent[i], nil
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(x))
	v := lt.h.Get(k[:])
	if len(v) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("ledger: stored hash %d missing (database damaged?)", x)
	}
	return tlog.Hash(v), nil
}

// storedHashes returns what tlog.StoredHashesForRecordHash(n, lh, lt)
// returns (the hashes to store for leaf n: its own, then one per subtree it
// completes), in lt.hashes instead of fresh slices.
func (lt *logTx) storedHashes(n uint64, lh tlog.Hash) ([]tlog.Hash, error) {
	out := append(lt.hashes[:0], lh)
	h := lh
	for i := range bits.TrailingZeros64(^n) { // each trailing 1 bit completes a subtree
		left, err := lt.hash(tlog.StoredHashIndex(i, int64(n>>uint(i))-1))
		if err != nil {
			return nil, err
		}
		h = tlog.NodeHash(left, h)
		out = append(out, h)
	}
	return out, nil
}

// arena hands out the byte slices of one batch's Puts: bbolt keeps them
// until the transaction ends, and one allocation per 64 KiB beats one per
// key and value.
type arena struct{ buf []byte }

func (a *arena) alloc(n int) []byte {
	if len(a.buf)+n > cap(a.buf) {
		a.buf = make([]byte, 0, max(64<<10, n))
	}
	s := a.buf[len(a.buf) : len(a.buf)+n : len(a.buf)+n]
	a.buf = a.buf[:len(a.buf)+n]
	return s
}

func (a *arena) u64(x uint64) []byte {
	b := a.alloc(8)
	binary.BigEndian.PutUint64(b, x)
	return b
}

func (a *arena) copy(src []byte) []byte {
	b := a.alloc(len(src))
	copy(b, src)
	return b
}

// commit applies batch in one bbolt transaction (one fsync) and answers
// every request. Per-entry problems (duplicate id) fail only that entry; a
// failed transaction fails them all and leaves nothing visible.
func (l *Ledger) commit(batch []*request) {
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	results := make([]result, len(batch))

	// Every log written must have a durable key before the batch commits.
	err := l.keys.ensureBatch(batch)
	var (
		logs map[string]*logTx
		nt   *nonceTx
	)
	start := time.Now()
	if err == nil {
		err = l.db.Update(func(tx *bolt.Tx) error {
			var err error
			logs, nt, err = l.apply(tx, batch, results)
			return err
		})
	}
	elapsed := time.Since(start)
	if err != nil {
		err = fmt.Errorf("ledger: append: %w", err)
		for i := range results {
			results[i] = result{err: err}
		}
	} else {
		nt.done() // the transaction committed: now memory may follow
		l.mu.Lock()
		for name, lt := range logs {
			st := l.logs[name]
			if st == nil {
				st = &logState{}
				l.logs[name] = st
			}
			if lt.size > st.size {
				st.size = lt.size
				l.dirty[name] = struct{}{}
			}
		}
		l.mu.Unlock()
	}
	for i, r := range batch {
		r.res <- results[i]
	}
	if err == nil && l.opts.OnCommit != nil {
		l.opts.OnCommit(len(batch), elapsed)
	}
}

// apply writes batch into tx, filling results; it returns the logs touched
// (with their new sizes) and the nonce index's changes, which the caller
// applies to memory once tx has committed. A returned error aborts the
// whole transaction.
func (l *Ledger) apply(tx *bolt.Tx, batch []*request, results []result) (map[string]*logTx, *nonceTx, error) {
	ids := tx.Bucket(bktIDs)
	seqIDs := tx.Bucket(bktSeqIDs)
	// NewID's ids arrive in about increasing order: pack their pages full,
	// like the append-only buckets of each log (see openLogTx).
	seqIDs.FillPercent = 1
	mem := &arena{}
	nt, err := l.nonces.begin(tx, mem)
	if err != nil {
		return nil, nil, err
	}
	logs := make(map[string]*logTx, 1)
	var (
		lt      *logTx            // the previous entry's log: a batch is mostly one log
		pending map[nonceHash]int // nonce hash → position of its first entry in batch
		loc     []byte            // id index value: uint64(index) log
	)
	for i, r := range batch {
		if l.failApply != nil {
			if err := l.failApply(i); err != nil {
				return nil, nil, err
			}
		}
		e := &r.e
		if lt == nil || lt.name != e.Log {
			if lt = logs[e.Log]; lt == nil {
				if lt, err = l.openLogTx(tx, e.Log); err != nil {
					return nil, nil, err
				}
				logs[e.Log] = lt
			}
		}
		var nh nonceHash
		if e.Nonce != "" {
			nh = l.nonces.hash(e.Log, e.Nonce)
			if j, ok := pending[nh]; ok {
				results[i] = results[j]
				results[i].a.Duplicate = true
				continue
			}
			a, found, err := l.nonceOriginal(tx, nt, lt, nh, e.Nonce)
			if err != nil {
				return nil, nil, err
			}
			if found {
				results[i] = result{a: a}
				continue
			}
		}
		// A Get in a write transaction sees this transaction's Puts, so this
		// also catches an id used twice in the batch.
		seq, own := l.idc.decode(e.ID)
		sk := seqKey(seq)
		var dup bool
		if own {
			dup = seqIDs.Get(sk[:]) != nil
		} else {
			dup = ids.Get([]byte(e.ID)) != nil
		}
		if dup {
			results[i] = result{err: fmt.Errorf("%w: %q", ErrDupID, e.ID)}
			continue
		}

		n := lt.size
		lh := tlog.RecordHash(e.Leaf)
		hashes, err := lt.storedHashes(n, lh)
		if err != nil {
			return nil, nil, err
		}
		// The stored hashes of consecutive leaves have consecutive
		// indexes: lt.recent is that run, from the batch's first leaf.
		base := tlog.StoredHashIndex(0, int64(n))
		for k, h := range hashes {
			if err := lt.h.Put(mem.u64(uint64(base+int64(k))), mem.copy(h[:])); err != nil {
				return nil, nil, err
			}
		}
		lt.recent = append(lt.recent, hashes...)
		day := max(r.day, lt.key.FromDay) // clock skew: never write into an erased day
		ed := uint64(lt.key.Epoch)<<32 | uint64(day)
		if lt.aead == nil || lt.aeadFor != ed {
			if lt.aead, err = l.keys.aead(e.Log, lt.key.Epoch, day); err != nil {
				return nil, nil, err
			}
			lt.aeadFor = ed
		}
		sealed, err := lt.seal(mem, n, day, e.Leaf)
		if err != nil {
			return nil, nil, err
		}
		if err := lt.lv.Put(mem.u64(n), sealed); err != nil {
			return nil, nil, err
		}
		loc = mem.alloc(8 + len(e.Log))
		binary.BigEndian.PutUint64(loc, n)
		copy(loc[8:], e.Log)
		if own {
			err = seqIDs.Put(mem.copy(sk[:]), loc)
		} else {
			err = ids.Put(mem.copy([]byte(e.ID)), loc)
		}
		if err != nil {
			return nil, nil, err
		}
		if e.Nonce != "" {
			if err := nt.add(nh, nonceRef(mem, e.ID, seq, own)); err != nil {
				return nil, nil, err
			}
			if pending == nil {
				pending = make(map[nonceHash]int, len(batch)-i)
			}
			pending[nh] = i
		}
		lt.count(ed)
		lt.size++
		results[i] = result{a: Appended{ID: e.ID, Index: n, LeafHash: lh, Leaf: e.Leaf}}
	}
	if err := nt.finish(); err != nil {
		return nil, nil, err
	}
	for _, lt := range logs {
		if err := lt.b.Put(keySize, mem.u64(lt.size)); err != nil {
			return nil, nil, err
		}
		for _, c := range lt.counts {
			key := mem.u64(c.key)
			if err := lt.d.Put(key, mem.u64(getU64(lt.d, key)+c.n)); err != nil {
				return nil, nil, err
			}
		}
	}
	return logs, nt, nil
}

// seal seals leaf n of lt's log under the current cipher (lt.aead, for
// day), into mem.
func (lt *logTx) seal(mem *arena, n uint64, day uint32, leaf []byte) ([]byte, error) {
	out := mem.alloc(sealHeader + gcmNonceSize + len(leaf) + lt.aead.Overhead())
	var aad []byte
	out, aad = sealInto(out[:0], lt.aad, lt.aead, lt.name, n, lt.key.Epoch, day, leaf)
	lt.aad = aad[:0]
	if out == nil {
		return nil, fmt.Errorf("ledger: nonce: random source failed")
	}
	return out, nil
}

// openLogTx opens (creating) log's buckets in a write transaction.
func (l *Ledger) openLogTx(tx *bolt.Tx, name string) (*logTx, error) {
	b, err := tx.Bucket(bktLogs).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, err
	}
	lt := &logTx{name: name, b: b, size: getU64(b, keySize)}
	lt.recentBase = tlog.StoredHashIndex(0, int64(lt.size))
	lt.n = b.Bucket(bktNonces) // only in logs written before nonces/ existed
	for _, s := range []struct {
		dst  **bolt.Bucket
		name []byte
		fill float64
	}{{&lt.h, bktHashes, 1}, {&lt.lv, bktLeaves, 1}, {&lt.d, bktDays, 1}} {
		sb, err := b.CreateBucketIfNotExists(s.name)
		if err != nil {
			return nil, err
		}
		// FillPercent belongs to this handle, not to the file: set it in
		// every write transaction. h, l and d only grow at their end, so
		// their pages are packed full (1.0).
		sb.FillPercent = s.fill
		*s.dst = sb
	}
	// Stored hashes and leaves are never overwritten: check that the size
	// counter agrees with the last leaf before appending after it.
	if last, _ := lt.lv.Cursor().Last(); (last == nil) != (lt.size == 0) ||
		last != nil && binary.BigEndian.Uint64(last) != lt.size-1 {
		return nil, fmt.Errorf("log %q damaged: size %d disagrees with its last leaf", name, lt.size)
	}
	k, ok := l.keys.get(name)
	if !ok || len(k.Key) == 0 {
		return nil, fmt.Errorf("no live key for log %q", name)
	}
	lt.key = k
	return lt, nil
}

// nonceOriginal looks nonce (hash h) up in the nonce index, and in the old
// n/ bucket of lt's log if it has one; found is false for a new nonce.
func (l *Ledger) nonceOriginal(tx *bolt.Tx, nt *nonceTx, lt *logTx, h nonceHash, nonce string) (a Appended, found bool, err error) {
	var id string
	ref, err := nt.lookup(h)
	switch {
	case err != nil:
		return Appended{}, false, err
	case ref != nil:
		if id, err = l.refID(ref); err != nil {
			return Appended{}, false, err
		}
	case lt.n != nil:
		v := lt.n.Get([]byte(nonce))
		if v == nil {
			return Appended{}, false, nil
		}
		id = string(v)
	default:
		return Appended{}, false, nil
	}
	a, err = l.original(tx, lt, id)
	return a, true, err
}

// original returns the committed entry id of lt's log as an Appended with
// Duplicate set.
func (l *Ledger) original(tx *bolt.Tx, lt *logTx, id string) (Appended, error) {
	loc := l.lookupID(tx, id)
	if loc == nil {
		return Appended{}, fmt.Errorf("nonce index points at unknown id %q", id)
	}
	if string(loc[8:]) != lt.name {
		return Appended{}, fmt.Errorf("nonce index of log %q points at id %q of log %q", lt.name, id, loc[8:])
	}
	n := binary.BigEndian.Uint64(loc)
	lh, err := readHash(lt.h, 0, n)
	if err != nil {
		return Appended{}, err
	}
	a := Appended{ID: id, Index: n, LeafHash: lh, Duplicate: true}
	leaf, err := l.keys.openLeaf(lt.name, n, lt.lv.Get(u64(n)))
	switch {
	case err == nil:
		a.Leaf = leaf
	case !errors.Is(err, ErrErased):
		return Appended{}, err
	}
	return a, nil
}
