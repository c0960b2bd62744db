package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// eraseKey is the key of an erasure record in a log's e bucket: the epoch
// and the first day NOT erased (math.MaxUint32 for EraseLog). The value is
// the erasure time (uint64 Unix seconds) and the first day erased (uint32).
func eraseKey(epoch, endDay uint32) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint32(k, epoch)
	binary.BigEndian.PutUint32(k[4:], endDay)
	return k
}

// Erase destroys, in log, every leaf whose day (the UTC day of Entry.Time)
// is strictly before before's UTC day, by ratcheting the log's key past
// those days (crypto-shredding). Their leaf hashes stay: proofs still
// verify, without leaf or record, with erased_at set. It returns how many
// leaves it erased now: 0 (and no error) for a log never appended to, one
// erased whole, or days already erased. ErrInvalid if before is more than a
// day ahead of Options.Now or log is not a valid name; ErrClosed after Close.
// Erase waits for the group commit in progress, if any.
func (l *Ledger) Erase(log string, before time.Time) (int, error) {
	n, err := l.EraseMany(map[string]time.Time{log: before})
	return n[log], err
}

// EraseMany is Erase for several logs at once (a retention pass over every
// site): one transaction records all the erasures and ledger.keys is
// written once, where a call per log would write both once per log. It
// returns the leaves erased per log (logs with nothing to erase have 0).
// Bad input (any invalid name or cutoff) fails with ErrInvalid before
// anything is erased.
func (l *Ledger) EraseMany(cutoffs map[string]time.Time) (map[string]int, error) {
	ends := make(map[string]uint32, len(cutoffs))
	tomorrow := dayOf(l.opts.Now()) + 1
	for log, before := range cutoffs {
		if err := l.checkErase(log); err != nil {
			return nil, err
		}
		bd := dayOf(before)
		if bd > tomorrow {
			return nil, fmt.Errorf("%w: erase %q before %s: that is in the future", ErrInvalid, log, before.UTC().Format(time.RFC3339))
		}
		if bd > 0 {
			ends[log] = uint32(bd)
		}
	}
	counts := make(map[string]int, len(cutoffs))
	for log := range cutoffs {
		counts[log] = 0
	}
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	todo := make(map[string]logKey, len(ends))
	for log, end := range ends {
		if k, ok := l.keys.get(log); ok && len(k.Key) != 0 && end > k.FromDay {
			todo[log] = k
		}
	}
	if len(todo) == 0 {
		return counts, nil
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		for log, k := range todo {
			n, err := l.recordErasure(tx, log, k, ends[log])
			if err != nil {
				return fmt.Errorf("ledger: erase %q: %w", log, err)
			}
			counts[log] = n
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, bolt.ErrDatabaseNotOpen) {
			return nil, ErrClosed
		}
		return nil, err
	}
	// The erasure records are durable first, so a proof of an erased leaf
	// can always tell when; now destroy the keys.
	advance := make(map[string]uint32, len(todo))
	for log := range todo {
		advance[log] = ends[log]
	}
	if err := l.keys.advance(advance); err != nil {
		return nil, fmt.Errorf("ledger: erase: %w", err)
	}
	return counts, nil
}

// EraseLog destroys every leaf of log (account cancellation): its key is
// dropped and its epoch bumped, so leaves appended later use a new key.
// Leaf hashes, checkpoints and proofs stay. It returns the number of leaves
// erased now (0 for a log never appended to or already erased); ErrInvalid
// for a bad name, ErrClosed after Close.
func (l *Ledger) EraseLog(log string) (int, error) {
	if err := l.checkErase(log); err != nil {
		return 0, err
	}
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	k, ok := l.keys.get(log)
	if !ok || len(k.Key) == 0 {
		return 0, nil
	}
	var count int
	err := l.db.Update(func(tx *bolt.Tx) error {
		var err error
		count, err = l.recordErasure(tx, log, k, math.MaxUint32)
		return err
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: erase log %q: %w", log, err)
	}
	if _, _, err := l.keys.drop(log); err != nil {
		return 0, fmt.Errorf("ledger: erase log %q: %w", log, err)
	}
	return count, nil
}

func (l *Ledger) checkErase(log string) error {
	if !ValidLogName(log) {
		return fmt.Errorf("%w: log name %q", ErrInvalid, log)
	}
	if l.isClosed() {
		return ErrClosed
	}
	return nil
}

// recordErasure counts, in tx, the leaves of epoch k.Epoch with days in
// [k.FromDay, endDay) and stores the erasure record.
func (l *Ledger) recordErasure(tx *bolt.Tx, log string, k logKey, endDay uint32) (int, error) {
	lb := logBucket(tx, log)
	if lb == nil {
		return 0, nil // a key was made but no leaf committed
	}
	var count uint64
	if db := lb.Bucket(bktDays); db != nil {
		c := db.Cursor()
		for key, v := c.Seek(eraseKey(k.Epoch, k.FromDay)); key != nil; key, v = c.Next() {
			if binary.BigEndian.Uint32(key) != k.Epoch || binary.BigEndian.Uint32(key[4:]) >= endDay {
				break
			}
			count += binary.BigEndian.Uint64(v)
		}
	}
	eb, err := lb.CreateBucketIfNotExists(bktErased)
	if err != nil {
		return 0, err
	}
	v := make([]byte, 12)
	binary.BigEndian.PutUint64(v, uint64(l.opts.Now().Unix()))
	binary.BigEndian.PutUint32(v[8:], k.FromDay)
	if err := eb.Put(eraseKey(k.Epoch, endDay), v); err != nil {
		return 0, err
	}
	return int(count), nil
}

// leavesChunk is how many leaves one read transaction of Leaves copies out.
const leavesChunk = 512

// Leaves calls fn for each committed leaf of log from index from on, in
// order, until fn returns false or the leaves run out. An erased leaf comes
// with a nil leaf and err ErrErased; a leaf that fails to decrypt with
// another error. Leaves never holds a read transaction while fn runs, so fn
// may take its time. It returns nil for a log never appended to, ErrClosed
// after Close.
func (l *Ledger) Leaves(log string, from uint64, fn func(index uint64, leaf []byte, err error) bool) error {
	next := from
	for {
		idx := make([]uint64, 0, leavesChunk)
		vals := make([][]byte, 0, leavesChunk)
		err := l.view(func(tx *bolt.Tx) error {
			lb := logBucket(tx, log)
			if lb == nil {
				return nil
			}
			c := lb.Bucket(bktLeaves).Cursor()
			for k, v := c.Seek(u64(next)); k != nil && len(idx) < leavesChunk; k, v = c.Next() {
				idx = append(idx, binary.BigEndian.Uint64(k))
				vals = append(vals, append([]byte(nil), v...))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("ledger: leaves of %q: %w", log, err)
		}
		if len(idx) == 0 {
			return nil
		}
		for i, n := range idx {
			leaf, err := l.keys.openLeaf(log, n, vals[i])
			if !fn(n, leaf, err) {
				return nil
			}
		}
		next = idx[len(idx)-1] + 1
	}
}

// Backup writes a consistent copy of ledger.db to w while appends go on
// (bbolt Tx.WriteTo inside one read transaction) and returns the bytes
// written. The copy is useless without the files of KeyFiles.
func (l *Ledger) Backup(w io.Writer) (int64, error) {
	var n int64
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("ledger: backup: %w", err)
	}
	return n, nil
}
