package ledger

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The nonce index.
//
// A retried request must find the entry its nonce made, for as long as the
// ledger exists, so every nonce is indexed for good. Client nonces are
// random: put straight into a B+tree, each one lands on a page of its own
// and a group commit rewrites a 4 KiB page per nonce (BENCHMARKS.txt,
// section 6). Instead the index is a small log-structured merge:
//
//	nonces/
//	    m/              hash → ref            the merged index (random keys)
//	    g/uint64(gen)/  uint64(n) → hash ref  a generation, in append order
//	    merge           uint64(gen) uint64(pos)  merge progress of the older generation
//
//	hash = HMAC-SHA256(nonce key, log || 0x00 || nonce)[:16]
//	ref  = 0x00 uint64(sequence)  for an id made by NewID
//	     | 0x01 id                 for any other id
//
// A new nonce is appended to the newest generation (sequential keys: the
// last page only) and remembered in memory (hash → n). When that generation
// holds nonceGenSize entries a new one starts, and the full one is merged
// into m/ in hash order, a slice per group commit (two keys per new nonce,
// so a merge ends well before the next generation fills): each merged page
// then takes about nonceGenSize/pages(m/) inserts instead of one. The
// generation's bucket is deleted when it is merged. Lookups check the
// batch, the newest generation (a map), the merging one (a sorted slice),
// then m/. Memory holds at most two generations, whatever the log size:
// about 4 MiB. Logs written before this index keep their old n/ bucket
// (nonce → id), which is still read.
//
// The hash is keyed so that nonces are not stored and clients cannot aim
// at pages; 128 bits make a collision (two nonces taken for one) a 2^-64
// event even after 2^32 nonces.

// nonceGenSize is the number of entries in a generation.
const nonceGenSize = 1 << 16

// nonceKeyLabel derives the nonce hash key from ledger.key's seed.
const nonceKeyLabel = "crumb-ledger-nonce-key/v1"

var (
	bktNonceIdx = []byte("nonces")
	bktMerged   = []byte("m")
	bktGens     = []byte("g")
	keyMerge    = []byte("merge")
)

// Kinds of ref.
const (
	refSeq byte = 0 // the id is NewID's: the sequence number follows
	refID  byte = 1 // the id's bytes follow
)

type nonceHash [16]byte

// nonceEntry is one entry of the merging generation.
type nonceEntry struct {
	h nonceHash
	n uint32 // key in the generation's bucket
}

// nonceIndex is the in-memory part of the index. Only the writer uses it
// (under batchMu): one group commit at a time.
type nonceIndex struct {
	mac      hash.Hash
	buf      []byte // hash's scratch
	genSize  int
	fillGen  uint64
	fill     map[nonceHash]uint32 // the newest generation
	mergeGen uint64
	merging  []nonceEntry // the older generation, sorted by hash; nil if none
	mergePos int          // entries of merging already in m/
}

// newNonceIndex loads the index from tx (creating its buckets).
func newNonceIndex(tx *bolt.Tx, seed []byte) (*nonceIndex, error) {
	key, err := hkdf.Key(sha256.New, seed, nil, nonceKeyLabel, 32)
	if err != nil {
		return nil, err
	}
	ni := &nonceIndex{mac: hmac.New(sha256.New, key), genSize: nonceGenSize}
	nb, err := tx.CreateBucketIfNotExists(bktNonceIdx)
	if err != nil {
		return nil, err
	}
	if _, err := nb.CreateBucketIfNotExists(bktMerged); err != nil {
		return nil, err
	}
	gb, err := nb.CreateBucketIfNotExists(bktGens)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	err = gb.ForEachBucket(func(k []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("nonce index: bad generation key %x", k)
		}
		gens = append(gens, binary.BigEndian.Uint64(k))
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch len(gens) {
	case 0:
		if _, err := gb.CreateBucket(u64(0)); err != nil {
			return nil, err
		}
		gens = []uint64{0}
	case 1, 2:
	default:
		return nil, fmt.Errorf("nonce index: %d generations (at most 2; database damaged?)", len(gens))
	}
	ni.fillGen = gens[len(gens)-1]
	ni.fill = make(map[nonceHash]uint32)
	err = gb.Bucket(u64(ni.fillGen)).ForEach(func(k, v []byte) error {
		n, h, err := genEntry(k, v)
		ni.fill[h] = n
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(gens) == 2 {
		ni.mergeGen = gens[0]
		ni.merging = []nonceEntry{}
		err = gb.Bucket(u64(ni.mergeGen)).ForEach(func(k, v []byte) error {
			n, h, err := genEntry(k, v)
			ni.merging = append(ni.merging, nonceEntry{h, n})
			return err
		})
		if err != nil {
			return nil, err
		}
		sortEntries(ni.merging)
		if p := nb.Get(keyMerge); len(p) == 16 && binary.BigEndian.Uint64(p) == ni.mergeGen {
			ni.mergePos = int(min(binary.BigEndian.Uint64(p[8:]), uint64(len(ni.merging))))
		}
	}
	return ni, nil
}

// genEntry parses one entry of a generation bucket.
func genEntry(k, v []byte) (uint32, nonceHash, error) {
	var h nonceHash
	if len(k) != 8 || len(v) < len(h)+2 || binary.BigEndian.Uint64(k) > 1<<32-1 {
		return 0, h, fmt.Errorf("nonce index: bad generation entry %x", k)
	}
	copy(h[:], v)
	return uint32(binary.BigEndian.Uint64(k)), h, nil
}

func sortEntries(s []nonceEntry) {
	slices.SortFunc(s, func(a, b nonceEntry) int {
		if c := bytes.Compare(a.h[:], b.h[:]); c != 0 {
			return c
		}
		return int(a.n) - int(b.n)
	})
}

// used reports whether the index holds any nonce (of this key).
func (ni *nonceIndex) used(tx *bolt.Tx) bool {
	nb := tx.Bucket(bktNonceIdx)
	k, _ := nb.Bucket(bktMerged).Cursor().First()
	return k != nil || len(ni.fill) > 0 || len(ni.merging) > 0
}

// hash returns the index key of nonce in log.
func (ni *nonceIndex) hash(log, nonce string) nonceHash {
	ni.buf = append(append(append(ni.buf[:0], log...), 0), nonce...)
	ni.mac.Reset()
	ni.mac.Write(ni.buf)
	ni.buf = ni.mac.Sum(ni.buf[:0])
	return nonceHash(ni.buf[:len(nonceHash{})])
}

// nonceTx is the index during one group commit. Nothing changes in memory
// until done is called after the transaction committed.
type nonceTx struct {
	ni       *nonceIndex
	nb       *bolt.Bucket
	merged   *bolt.Bucket
	gens     *bolt.Bucket
	fillB    *bolt.Bucket
	rolled   bool         // a new generation started in this transaction
	merging  []nonceEntry // as ni.merging, or the old fill generation if rolled
	mergeGen uint64
	mergePos int
	fillLen  int          // entries of the fill generation before this batch
	added    []nonceEntry // new entries of the fill generation
	mem      *arena
}

// begin opens the index in a write transaction. A full generation is
// rolled over here, at a batch boundary (so a generation may exceed
// genSize by one batch); if the previous one is somehow still merging, it
// is merged to the end first.
func (ni *nonceIndex) begin(tx *bolt.Tx, mem *arena) (*nonceTx, error) {
	nb := tx.Bucket(bktNonceIdx)
	nt := &nonceTx{ni: ni, nb: nb, merged: nb.Bucket(bktMerged), gens: nb.Bucket(bktGens),
		merging: ni.merging, mergeGen: ni.mergeGen, mergePos: ni.mergePos, fillLen: len(ni.fill), mem: mem}
	if len(ni.fill) >= ni.genSize {
		if nt.merging != nil {
			if err := nt.mergeStep(len(nt.merging)); err != nil {
				return nil, err
			}
		}
		nt.merging = make([]nonceEntry, 0, len(ni.fill))
		for h, n := range ni.fill {
			nt.merging = append(nt.merging, nonceEntry{h, n})
		}
		sortEntries(nt.merging)
		nt.mergeGen, nt.mergePos = ni.fillGen, 0
		if err := nb.Put(keyMerge, append(u64(nt.mergeGen), u64(0)...)); err != nil {
			return nil, err
		}
		b, err := nt.gens.CreateBucket(u64(ni.fillGen + 1))
		if err != nil {
			return nil, err
		}
		nt.fillB, nt.rolled, nt.fillLen = b, true, 0
	} else {
		nt.fillB = nt.gens.Bucket(u64(ni.fillGen))
		if nt.fillB == nil {
			return nil, fmt.Errorf("nonce index: generation %d missing", ni.fillGen)
		}
	}
	nt.fillB.FillPercent = 1 // append-only
	return nt, nil
}

// lookup returns the ref of a committed nonce hash, or nil. It does not
// see entries added in this batch (the caller keeps those).
func (nt *nonceTx) lookup(h nonceHash) ([]byte, error) {
	if !nt.rolled {
		if n, ok := nt.ni.fill[h]; ok {
			return nt.genRef(nt.fillB, n)
		}
	}
	if i, ok := slices.BinarySearchFunc(nt.merging, h, func(e nonceEntry, h nonceHash) int {
		return bytes.Compare(e.h[:], h[:])
	}); ok {
		return nt.genRef(nt.gens.Bucket(u64(nt.mergeGen)), nt.merging[i].n)
	}
	if v := nt.merged.Get(h[:]); v != nil {
		return v, nil
	}
	return nil, nil
}

// genRef reads the ref of entry n of a generation bucket.
func (nt *nonceTx) genRef(b *bolt.Bucket, n uint32) ([]byte, error) {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(n))
	if b == nil {
		return nil, errors.New("nonce index: generation missing")
	}
	v := b.Get(k[:])
	if len(v) < len(nonceHash{})+2 {
		return nil, fmt.Errorf("nonce index: generation entry %d missing", n)
	}
	return v[len(nonceHash{}):], nil
}

// add puts a new nonce hash with its ref into the fill generation.
func (nt *nonceTx) add(h nonceHash, ref []byte) error {
	n := nt.fillLen + len(nt.added)
	if n > 1<<32-1 {
		return errors.New("nonce index: generation overflow")
	}
	v := nt.mem.alloc(len(h) + len(ref))
	copy(v, h[:])
	copy(v[len(h):], ref)
	if err := nt.fillB.Put(nt.mem.u64(uint64(n)), v); err != nil {
		return err
	}
	nt.added = append(nt.added, nonceEntry{h, uint32(n)})
	return nil
}

// mergeStep merges the next k entries of the merging generation into m/,
// records the progress and deletes the generation once it is all merged.
func (nt *nonceTx) mergeStep(k int) error {
	if nt.merging == nil || k <= 0 {
		return nil
	}
	gb := nt.gens.Bucket(u64(nt.mergeGen))
	end := min(len(nt.merging), nt.mergePos+k)
	for _, e := range nt.merging[nt.mergePos:end] {
		ref, err := nt.genRef(gb, e.n)
		if err != nil {
			return err
		}
		if err := nt.merged.Put(nt.mem.copy(e.h[:]), nt.mem.copy(ref)); err != nil {
			return err
		}
	}
	nt.mergePos = end
	if end < len(nt.merging) {
		return nt.nb.Put(keyMerge, append(u64(nt.mergeGen), u64(uint64(end))...))
	}
	nt.merging = nil
	if err := nt.gens.DeleteBucket(u64(nt.mergeGen)); err != nil {
		return err
	}
	return nt.nb.Delete(keyMerge)
}

// finish runs the merge step of this batch: two entries per new nonce and
// a few more, so a generation is merged within half the next one.
func (nt *nonceTx) finish() error {
	return nt.mergeStep(2*len(nt.added) + 16)
}

// done applies a committed nonceTx to memory.
func (nt *nonceTx) done() {
	ni := nt.ni
	if nt.rolled {
		ni.fillGen++
		ni.fill = make(map[nonceHash]uint32, ni.genSize)
	}
	ni.merging, ni.mergeGen, ni.mergePos = nt.merging, nt.mergeGen, nt.mergePos
	for _, e := range nt.added {
		ni.fill[e.h] = e.n
	}
}

// nonceRef encodes the ref of id; seq and own are what idCodec.decode
// says of it.
func nonceRef(mem *arena, id string, seq uint64, own bool) []byte {
	if own {
		r := mem.alloc(9)
		r[0] = refSeq
		binary.BigEndian.PutUint64(r[1:], seq)
		return r
	}
	r := mem.alloc(1 + len(id))
	r[0] = refID
	copy(r[1:], id)
	return r
}

// refID decodes a ref into its id.
func (l *Ledger) refID(ref []byte) (string, error) {
	switch {
	case len(ref) == 9 && ref[0] == refSeq:
		return l.idc.encode(binary.BigEndian.Uint64(ref[1:])), nil
	case len(ref) > 1 && ref[0] == refID:
		return string(ref[1:]), nil
	}
	return "", fmt.Errorf("nonce index: bad reference %x", ref)
}
