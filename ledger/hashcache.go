package ledger

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheMax bounds the cache of upper-level hashes: about 5 MiB however
// large and many the logs grow.
const hashCacheMax = 1 << 16

// hashCacheLogs bounds the logs the cache keeps a part for (each holds the
// right-edge hashes of its latest size proved, a few hundred bytes): about
// 10 MiB however many sites there are. Past it, arbitrary logs lose their
// part and rebuild it at their next proof.
const hashCacheLogs = 1 << 15

// hashCache keeps, per log, the stored hashes of the upper tree levels and
// the right-edge hashes of the latest size proved. Every audit path of a
// log passes through the same few upper nodes, and a stored hash never
// changes once committed, so an entry never goes stale. Only read
// transactions fill it: a write transaction's hashes are not committed
// until it ends, and may be rolled back.
type hashCache struct {
	logs    sync.Map // log name → *logHashes
	nlogs   atomic.Int64
	maxLogs int64

	mu    sync.RWMutex
	upper map[upperKey]tlog.Hash
}

type upperKey struct {
	log   *logHashes
	index int64 // stored hash index
}

func newHashCache() *hashCache {
	return &hashCache{upper: make(map[upperKey]tlog.Hash), maxLogs: hashCacheLogs}
}

// logHashes is one log's part of the cache.
type logHashes struct {
	edge atomic.Pointer[rightEdge]
}

// rightEdge holds the hashes of the incomplete subtrees along the right
// edge of a tree of one size. They are the only audit-path nodes that are
// not stored hashes, and each takes several reads and hashes to compute,
// yet all proofs under one checkpoint share them.
type rightEdge struct {
	size uint64
	// hash holds, for each bit j set in size, lowest first, the hash of the
	// leaves from size with bits 0..j cleared up to size: the block of 2^j
	// leaves that bit j stands for, and every smaller block after it. A few
	// hundred bytes per log that has been proved.
	hash []tlog.Hash
}

// of returns the right-edge hash for bit j of the size (set).
func (e *rightEdge) of(j int) tlog.Hash {
	return e.hash[bits.OnesCount64(e.size&(1<<j-1))]
}

func (c *hashCache) log(name string) *logHashes {
	if v, ok := c.logs.Load(name); ok {
		return v.(*logHashes)
	}
	v, loaded := c.logs.LoadOrStore(name, &logHashes{})
	if !loaded && c.nlogs.Add(1) > c.maxLogs {
		c.shrink(name)
	}
	return v.(*logHashes)
}

// shrink drops arbitrary logs' parts, all but keep's, down to three quarters of
// the bound, so that the next ones added do not each pay a Range. A part
// dropped while a proof uses it stays valid for that proof; its upper-level
// entries are no longer found and age out of the bounded map.
func (c *hashCache) shrink(keep string) {
	target := c.maxLogs * 3 / 4
	c.logs.Range(func(k, _ any) bool {
		if c.nlogs.Load() <= target {
			return false
		}
		if k != keep {
			if _, ok := c.logs.LoadAndDelete(k); ok {
				c.nlogs.Add(-1)
			}
		}
		return true
	})
}

// storedHashes reads a log's committed stored hashes in a read transaction,
// serving the levels at or above minLevel from the cache.
type storedHashes struct {
	b        *bolt.Bucket
	c        *hashCache
	log      *logHashes
	minLevel int
}

// stored returns a reader of a log's stored hashes for proofs in the tree
// of treeSize: levels at or above the one whose nodes (with those above it)
// number about hashCacheMax/2 for this size come from the cache.
func (c *hashCache) stored(b *bolt.Bucket, log string, treeSize uint64) storedHashes {
	return storedHashes{b: b, c: c, log: c.log(log), minLevel: max(1, bits.Len64(treeSize)-15)}
}

// hash returns the stored hash of node n at level.
func (s storedHashes) hash(level int, n uint64) (tlog.Hash, error) {
	return s.index(level, tlog.StoredHashIndex(level, int64(n)))
}

func (s storedHashes) index(level int, x int64) (tlog.Hash, error) {
	cached := level >= s.minLevel
	if cached {
		s.c.mu.RLock()
		h, ok := s.c.upper[upperKey{s.log, x}]
		s.c.mu.RUnlock()
		if ok {
			return h, nil
		}
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(x))
	v := s.b.Get(k[:])
	if len(v) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("ledger: stored hash %d missing (database damaged?)", x)
	}
	var h tlog.Hash
	copy(h[:], v) // copy out: v is only valid inside the transaction
	if cached {
		s.c.mu.Lock()
		if len(s.c.upper) >= hashCacheMax {
			for k := range s.c.upper { // evict an arbitrary entry
				delete(s.c.upper, k)
				break
			}
		}
		s.c.upper[upperKey{s.log, x}] = h
		s.c.mu.Unlock()
	}
	return h, nil
}

// ReadHashes makes storedHashes a tlog.HashReader, for tlog.ProveTree.
func (s storedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		level, _ := tlog.SplitStoredHashIndex(x)
		h, err := s.index(level, x)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// rightEdge returns the right-edge hashes of the tree of size n.
func (s storedHashes) rightEdge(n uint64) (*rightEdge, error) {
	if e := s.log.edge.Load(); e != nil && e.size == n {
		return e, nil
	}
	e := &rightEdge{size: n, hash: make([]tlog.Hash, 0, bits.OnesCount64(n))}
	var acc tlog.Hash
	for rest := n; rest != 0; rest &= rest - 1 { // set bits, lowest first
		j := bits.TrailingZeros64(rest)
		start := n &^ (1<<(j+1) - 1)
		h, err := s.hash(j, start>>j)
		if err != nil {
			return nil, err
		}
		if rest != n { // not the lowest block: the blocks after it fold in
			h = tlog.NodeHash(h, acc)
		}
		acc = h
		e.hash = append(e.hash, acc)
	}
	s.log.edge.Store(e)
	return e, nil
}

// inclusion returns the RFC 6962 audit path of leaf m in the tree of size
// n (m < n), lowest level first, as tlog.ProveRecord does. It reads one
// stored hash per level, or takes the right-edge hash, instead of reading
// the several stored hashes each incomplete subtree needs.
func (s storedHashes) inclusion(m, n uint64) ([]tlog.Hash, error) {
	var edge *rightEdge
	path := make([]tlog.Hash, bits.Len64(n-1)) // at most this long
	depth := 0
	lo, hi := uint64(0), n
	for hi-lo > 1 {
		k := uint64(1) << (bits.Len64(hi-lo-1) - 1) // largest power of two < hi-lo
		var sib tlog.Hash
		var err error
		if m < lo+k {
			// The sibling is [lo+k, hi): complete (and aligned) unless it
			// runs to the right edge without being a power of two.
			size := hi - lo - k
			if size&(size-1) == 0 {
				level := bits.TrailingZeros64(size)
				sib, err = s.hash(level, (lo+k)>>level)
			} else {
				if edge == nil {
					if edge, err = s.rightEdge(n); err != nil {
						return nil, err
					}
				}
				sib = edge.of(bits.Len64(size) - 1)
			}
			hi = lo + k
		} else {
			level := bits.TrailingZeros64(k)
			sib, err = s.hash(level, lo>>level)
			lo += k
		}
		if err != nil {
			return nil, err
		}
		path[depth] = sib
		depth++
	}
	path = path[:depth]
	for i, j := 0, depth-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}
