package ledger

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheMax bounds the cache: about 5 MiB however large the logs grow.
const hashCacheMax = 1 << 16

// hashCache keeps stored hashes of the upper levels of the trees. Every
// audit path of a log passes through the same few upper nodes, and a stored
// hash never changes once committed, so an entry never goes stale. Only
// read transactions fill it: a write transaction's hashes are not committed
// until it ends, and may be rolled back.
type hashCache struct {
	mu sync.RWMutex
	m  map[hashKey]tlog.Hash
}

type hashKey struct {
	log   string
	index int64
}

func newHashCache() *hashCache { return &hashCache{m: make(map[hashKey]tlog.Hash)} }

// reader returns a tlog.HashReader over a log's committed hashes in a read
// transaction. Levels at or above the one whose nodes (with those above it)
// number about hashCacheMax/2 for this tree size are served from the cache.
func (c *hashCache) reader(b *bolt.Bucket, log string, treeSize uint64) tlog.HashReader {
	minLevel := max(1, bits.Len64(treeSize)-15)
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var k [8]byte
		for i, x := range indexes {
			level, _ := tlog.SplitStoredHashIndex(x)
			key := hashKey{log, x}
			if level >= minLevel {
				c.mu.RLock()
				h, ok := c.m[key]
				c.mu.RUnlock()
				if ok {
					out[i] = h
					continue
				}
			}
			binary.BigEndian.PutUint64(k[:], uint64(x))
			v := b.Get(k[:])
			if len(v) != tlog.HashSize {
				return nil, fmt.Errorf("ledger: stored hash %d missing (database damaged?)", x)
			}
			copy(out[i][:], v)
			if level >= minLevel {
				c.mu.Lock()
				if len(c.m) >= hashCacheMax {
					for k := range c.m { // evict an arbitrary entry
						delete(c.m, k)
						break
					}
				}
				c.m[key] = out[i]
				c.mu.Unlock()
			}
		}
		return out, nil
	})
}
