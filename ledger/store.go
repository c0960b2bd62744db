package ledger

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Layout of ledger.db:
//
//	logs/<log>/          one bucket per log
//	    size             uint64: committed leaves
//	    cp               latest signed checkpoint note
//	    cpsize           uint64: its tree size
//	    h/  uint64(StoredHashIndex) → 32-byte hash (never overwritten)
//	    l/  uint64(index)           → sealed leaf (see sealInto in keys.go)
//	    n/  nonce                   → id   only in logs written before nonces/ existed; read, never written
//	    d/  uint32(epoch) uint32(day) → uint64 leaves appended that day (for Erase counts)
//	    e/  uint32(epoch) uint32(end day) → erasure record (see recordErasure)
//	ids/    id → uint64(index) log                ids callers made (random keys)
//	idseq/  uint64(sequence) → uint64(index) log  ids made by NewID (see ids.go): grows at its end
//	nonces/                                      every log's nonces (see nonces.go)
//	    m/  hash(log, nonce) → ref               merged index
//	    g/uint64(generation)/ uint64(n) → hash ref   the newest nonces, in append order (at most 2 generations)
//	    merge  uint64(generation) uint64(position)   how far the older generation is merged into m/
//	meta/   idcheck → 16 bytes                   identifies the id and nonce keys (see checkIDKey)
//
// All integers are big-endian so that keys sort in numeric order. Per
// append, only m/ takes a key at a random place, and only while a
// generation is merged, many keys per page (see nonces.go).
var (
	bktLogs   = []byte("logs")
	bktIDs    = []byte("ids")
	bktSeqIDs = []byte("idseq")
	bktMeta   = []byte("meta")
	bktHashes = []byte("h")
	bktLeaves = []byte("l")
	bktNonces = []byte("n")
	bktDays   = []byte("d")
	bktErased = []byte("e")
	keySize   = []byte("size")
	keyCP     = []byte("cp")
	keyCPSize = []byte("cpsize")

	keyIDCheck = []byte("idcheck")
)

func u64(x uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, x)
	return b
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// lookupID returns the location (uint64 index, then the log name) of the
// committed entry id in tx, or nil. The ledger's own ids are found by
// sequence number in idseq/, every other id in ids/.
func (l *Ledger) lookupID(tx *bolt.Tx, id string) []byte {
	var loc []byte
	if seq, ok := l.idc.decode(id); ok {
		k := seqKey(seq)
		loc = tx.Bucket(bktSeqIDs).Get(k[:])
	} else {
		loc = tx.Bucket(bktIDs).Get([]byte(id))
	}
	if len(loc) < 8 {
		return nil
	}
	return loc
}

// logBucket returns the bucket of log in tx, or nil.
func logBucket(tx *bolt.Tx, log string) *bolt.Bucket {
	return tx.Bucket(bktLogs).Bucket([]byte(log))
}

// hashReader reads stored hashes from a log's h bucket. In a write
// transaction it sees the hashes put earlier in the same transaction, so
// tlog.StoredHashes works for consecutive leaves of one group commit.
type hashReader struct{ b *bolt.Bucket }

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var k [8]byte
	for i, x := range indexes {
		binary.BigEndian.PutUint64(k[:], uint64(x))
		v := r.b.Get(k[:])
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("ledger: stored hash %d missing (database damaged?)", x)
		}
		copy(out[i][:], v) // copy out: v is only valid inside the transaction
	}
	return out, nil
}

// readHash reads one stored hash.
func readHash(h *bolt.Bucket, level int, n uint64) (tlog.Hash, error) {
	hs, err := hashReader{h}.ReadHashes([]int64{tlog.StoredHashIndex(level, int64(n))})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// writeFileAtomic replaces path with data (0600): write a temporary file
// beside it, fsync it, rename it over path and fsync the directory, so the
// file is either the old or the new content after a crash, and the new
// content is durable when writeFileAtomic returns.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir makes the directory's entries (a file created or renamed in it)
// durable. A variable so that a test can make it fail after a rename, the
// one failure that leaves the new file in place.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
