package ledger

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

const testHost = "crumb.test"

// mustOpen opens a ledger in dir with a fast checkpoint timer; the options
// can be changed by mods. It is closed when the test ends (if still open).
func mustOpen(tb testing.TB, dir string, mods ...func(*Options)) *Ledger {
	tb.Helper()
	opts := Options{Dir: dir, Host: testHost, CheckpointInterval: 10 * time.Millisecond}
	for _, m := range mods {
		m(&opts)
	}
	l, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

var idSeq atomic.Uint64

// newID returns a unique URL-safe id.
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%d", base64.RawURLEncoding.EncodeToString(b[:]), idSeq.Add(1))
}

// leafJSON builds a small JSON leaf that carries marker.
func leafJSON(log, marker string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"site":%q,"marker":%q,"salt":%q}`, newID(), log, marker, newID())
}

func mustAppend(tb testing.TB, l *Ledger, e Entry) Appended {
	tb.Helper()
	if e.ID == "" {
		e.ID = newID()
	}
	a, err := l.Append(context.Background(), e)
	if err != nil {
		tb.Fatalf("Append(%s): %v", e.Log, err)
	}
	return a
}

func mustProof(tb testing.TB, l *Ledger, id string) *Proof {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		p, err := l.Proof(ctx, id)
		if err == nil {
			return p
		}
		if ctx.Err() != nil || !isPending(err) {
			tb.Fatalf("Proof(%s): %v", id, err)
		}
	}
}

func isPending(err error) bool { return err != nil && errors.Is(err, ErrPending) }

// waitCheckpoint waits until log has a checkpoint of at least size.
func waitCheckpoint(tb testing.TB, l *Ledger, log string, size uint64) []byte {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		round := l.signedRound() // before looking, so that no round is missed
		cp, err := l.Checkpoint(log)
		if err == nil {
			_, n, _, perr := ParseCheckpoint(cp, l.Verifier())
			if perr != nil {
				tb.Fatalf("ParseCheckpoint: %v", perr)
			}
			if n >= size {
				return cp
			}
		}
		select {
		case <-round:
		case <-time.After(time.Until(deadline)):
			tb.Fatalf("no checkpoint of %s at size %d (last err %v)", log, size, err)
		}
	}
}

// refRoot is the RFC 6962 Merkle tree hash of leaf hashes, computed by
// the textbook recursion: the reference the ledger is checked against.
func refRoot(hs []tlog.Hash) tlog.Hash {
	switch len(hs) {
	case 0:
		return tlog.Hash{} // never asked for
	case 1:
		return hs[0]
	}
	k := 1
	for k*2 < len(hs) {
		k *= 2
	}
	return tlog.NodeHash(refRoot(hs[:k]), refRoot(hs[k:]))
}
