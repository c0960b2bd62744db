package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxCheckpoint bounds the size of a checkpoint note accepted by the parsers.
const maxCheckpoint = 16 << 10

// signChunk is how many logs one read transaction signs, so a round over
// many logs never holds a long read transaction.
const signChunk = 256

// checkpointLoop signs dirty logs every CheckpointInterval until Close.
func (l *Ledger) checkpointLoop() {
	defer close(l.cpDone)
	t := time.NewTicker(l.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := l.signDirty(); err != nil {
				slog.Error("ledger: signing checkpoints", "err", err)
			}
		case <-l.stopCP:
			return
		}
	}
}

type signed struct {
	log  string
	size uint64
	note []byte
}

// signDirty signs a checkpoint for every log whose committed size grew
// since its last checkpoint, stores them, then wakes Proof waiters.
func (l *Ledger) signDirty() error {
	l.signMu.Lock()
	defer l.signMu.Unlock()
	l.mu.Lock()
	names := make([]string, 0, len(l.dirty))
	for name := range l.dirty {
		names = append(names, name)
	}
	clear(l.dirty)
	l.mu.Unlock()
	if len(names) == 0 {
		// Wake waiters all the same: one that looked at a checkpoint just
		// before the round that signed it, and then asked for the next
		// round, must not wait for a log that will never be dirty again.
		l.broadcast()
		return nil
	}
	sort.Strings(names)
	var firstErr error
	for len(names) > 0 {
		chunk := names[:min(signChunk, len(names))]
		names = names[len(chunk):]
		if err := l.signLogs(chunk); err != nil {
			l.mu.Lock()
			for _, name := range chunk {
				l.dirty[name] = struct{}{} // retry next round
			}
			l.mu.Unlock()
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	l.broadcast()
	return firstErr
}

// signLogs signs and stores checkpoints for logs.
func (l *Ledger) signLogs(logs []string) error {
	var out []signed
	err := l.db.View(func(tx *bolt.Tx) error {
		for _, name := range logs {
			lb := logBucket(tx, name)
			if lb == nil {
				continue
			}
			size, cpSize := getU64(lb, keySize), getU64(lb, keyCPSize)
			if size <= cpSize {
				continue
			}
			root, err := tlog.TreeHash(int64(size), hashReader{lb.Bucket(bktHashes)})
			if err != nil {
				return fmt.Errorf("log %q: tree hash at %d: %w", name, size, err)
			}
			text := fmt.Sprintf("%s\n%d\n%s\n", l.origin(name), size, base64.StdEncoding.EncodeToString(root[:]))
			msg, err := note.Sign(&note.Note{Text: text}, l.signer)
			if err != nil {
				return fmt.Errorf("log %q: sign: %w", name, err)
			}
			out = append(out, signed{name, size, msg})
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		return err
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		for _, s := range out {
			lb := logBucket(tx, s.log)
			if getU64(lb, keyCPSize) >= s.size {
				continue // never replace a checkpoint with an older one
			}
			if err := lb.Put(keyCP, s.note); err != nil {
				return err
			}
			if err := lb.Put(keyCPSize, u64(s.size)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: store checkpoints: %w", err)
	}
	l.mu.Lock()
	for _, s := range out {
		if st := l.logs[s.log]; st != nil && s.size > st.cpSize {
			st.cpSize = s.size
		}
	}
	l.mu.Unlock()
	return nil
}

// broadcast wakes everyone waiting for a signing round.
func (l *Ledger) broadcast() {
	l.cpMu.Lock()
	close(l.cpCh)
	l.cpCh = make(chan struct{})
	l.cpMu.Unlock()
}

// signedRound returns a channel closed after the next signing round.
func (l *Ledger) signedRound() <-chan struct{} {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	return l.cpCh
}

// Checkpoint returns the latest signed checkpoint note of log (C2SP
// tlog-checkpoint body, signed note). It returns ErrNotFound when the log
// has none yet (never appended to, or its first leaves are younger than one
// CheckpointInterval), ErrClosed after Close.
func (l *Ledger) Checkpoint(log string) ([]byte, error) {
	var cp []byte
	err := l.view(func(tx *bolt.Tx) error {
		if lb := logBucket(tx, log); lb != nil {
			cp = append([]byte(nil), lb.Get(keyCP)...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoint of %q: %w", log, err)
	}
	if len(cp) == 0 {
		return nil, fmt.Errorf("ledger: checkpoint of %q: %w", log, ErrNotFound)
	}
	return cp, nil
}

// Consistency returns the RFC 6962 consistency proof that the tree of log
// at size to contains the tree at size from, for 0 < from ≤ to ≤ Size(log)
// (from == to gives an empty proof). It returns ErrNotFound for a log with
// no entries and ErrRange for other sizes.
func (l *Ledger) Consistency(ctx context.Context, log string, from, to uint64) ([]tlog.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxErr("consistency", ctx)
	}
	size := l.Size(log)
	if size == 0 {
		return nil, fmt.Errorf("ledger: consistency of %q: %w", log, ErrNotFound)
	}
	if from == 0 || from > to || to > size {
		return nil, fmt.Errorf("ledger: consistency of %q from %d to %d (size %d): %w", log, from, to, size, ErrRange)
	}
	var proof tlog.TreeProof
	err := l.view(func(tx *bolt.Tx) error {
		lb := logBucket(tx, log)
		if lb == nil {
			return ErrNotFound
		}
		var err error
		proof, err = tlog.ProveTree(int64(to), int64(from), l.hashes.stored(lb.Bucket(bktHashes), log, to))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency of %q from %d to %d: %w", log, from, to, err)
	}
	return proof, nil
}

// ParseCheckpoint opens a signed checkpoint note, checks its signature by v
// and parses its C2SP tlog-checkpoint body (origin, size, base64 root;
// extension lines are allowed and ignored). Every failure wraps ErrVerify.
func ParseCheckpoint(text []byte, v note.Verifier) (origin string, size uint64, root tlog.Hash, err error) {
	fail := func(format string, args ...any) (string, uint64, tlog.Hash, error) {
		return "", 0, tlog.Hash{}, fmt.Errorf("%w: checkpoint: %s", ErrVerify, fmt.Sprintf(format, args...))
	}
	if v == nil {
		return fail("no verifier")
	}
	if len(text) > maxCheckpoint {
		return fail("%d bytes (max %d)", len(text), maxCheckpoint)
	}
	n, err := note.Open(text, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return fail("not signed by key %s+%08x", v.Name(), v.KeyHash())
		}
		return fail("%v", err)
	}
	lines := strings.SplitAfter(n.Text, "\n")
	// SplitAfter leaves a final "" after the text's closing newline.
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return fail("body has %d lines, want origin, size and root", len(lines)-1)
	}
	origin = strings.TrimSuffix(lines[0], "\n")
	sizeText := strings.TrimSuffix(lines[1], "\n")
	rootText := strings.TrimSuffix(lines[2], "\n")
	if origin == "" {
		return fail("empty origin")
	}
	if sizeText == "" || (len(sizeText) > 1 && sizeText[0] == '0') {
		return fail("bad size %q", sizeText)
	}
	size, err = strconv.ParseUint(sizeText, 10, 63)
	if err != nil {
		return fail("bad size %q", sizeText)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(rootText)
	if err != nil || len(raw) != tlog.HashSize {
		return fail("bad root hash %q", rootText)
	}
	copy(root[:], raw)
	for _, ext := range lines[3 : len(lines)-1] {
		if ext == "\n" {
			return fail("empty extension line")
		}
	}
	return origin, size, root, nil
}

// VerifyConsistency checks that the newer checkpoint's tree extends the
// older one's: both signed by v, same origin, older size ≤ newer size, and
// proof (from Consistency(log, older size, newer size)) links the two
// roots. Every failure wraps ErrVerify.
func VerifyConsistency(v note.Verifier, older, newer []byte, proof []tlog.Hash) error {
	o1, n1, r1, err := ParseCheckpoint(older, v)
	if err != nil {
		return fmt.Errorf("older %w", err)
	}
	o2, n2, r2, err := ParseCheckpoint(newer, v)
	if err != nil {
		return fmt.Errorf("newer %w", err)
	}
	switch {
	case o1 != o2:
		return fmt.Errorf("%w: checkpoints of different logs (%q, %q)", ErrVerify, o1, o2)
	case n1 > n2:
		return fmt.Errorf("%w: older checkpoint has size %d > newer %d", ErrVerify, n1, n2)
	case n1 == n2:
		if r1 != r2 || len(proof) != 0 {
			return fmt.Errorf("%w: two different roots signed for size %d", ErrVerify, n1)
		}
		return nil
	case n1 == 0:
		if len(proof) != 0 {
			return fmt.Errorf("%w: non-empty proof from the empty tree", ErrVerify)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, int64(n2), r2, int64(n1), r1); err != nil {
		return fmt.Errorf("%w: consistency proof from %d to %d: %v", ErrVerify, n1, n2, err)
	}
	return nil
}
