package ledger

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Locate returns the log and leaf index of the committed entry with id, or
// ErrNotFound. Unlike Proof it reads one key and never waits for a
// checkpoint: callers use it to check a reference to an earlier entry.
func (l *Ledger) Locate(id string) (log string, index uint64, err error) {
	if !validID(id) {
		return "", 0, fmt.Errorf("ledger: locate %q: %w", id, ErrNotFound)
	}
	err = l.view(func(tx *bolt.Tx) error {
		loc := l.lookupID(tx, id)
		if loc == nil {
			return ErrNotFound
		}
		index = binary.BigEndian.Uint64(loc)
		log = string(loc[8:])
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("ledger: locate %q: %w", id, err)
	}
	return log, index, nil
}
