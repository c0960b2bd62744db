package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Proof is the proof JSON of DESIGN §4: everything an auditor needs to check
// offline, with the log's verifier key, that a record is in the log.
type Proof struct {
	ID         string          `json:"id"`
	Site       string          `json:"site"` // log name
	Index      uint64          `json:"index"`
	Leaf       []byte          `json:"leaf,omitempty"` // exact leaf bytes (base64 in JSON); absent once erased
	LeafHash   []byte          `json:"leaf_hash"`
	Record     json.RawMessage `json:"record,omitempty"`    // the leaf parsed (it is JSON for consent logs); absent once erased or if the leaf is not JSON
	ErasedAt   string          `json:"erased_at,omitempty"` // RFC 3339
	TreeSize   uint64          `json:"tree_size"`
	Inclusion  [][]byte        `json:"inclusion"`  // RFC 6962 audit path, 32-byte hashes
	Checkpoint string          `json:"checkpoint"` // signed note, size == tree_size
}

// maxProofSize bounds the proof JSON ParseProof accepts: a 64 KiB leaf
// twice (leaf in base64, record) plus the rest.
const maxProofSize = 256 << 10

// maxInclusion is the longest audit path of a tree of at most 2^63 leaves.
const maxInclusion = 63

// Proof returns the inclusion proof of the entry id under the latest signed
// checkpoint of its log. If no checkpoint covers the entry yet (it was just
// appended), Proof waits for the next signing round: up to about a second
// (twice CheckpointInterval if that is longer) or until ctx ends. Errors:
// ErrNotFound for an unknown id, ErrPending if no checkpoint came in time,
// ErrClosed after Close, ctx's error. An erased entry is not an error: the
// proof has no leaf or record, but its leaf hash and inclusion still check.
func (l *Ledger) Proof(ctx context.Context, id string) (*Proof, error) {
	if !validID(id) {
		return nil, fmt.Errorf("ledger: proof of %q: %w", id, ErrNotFound)
	}
	wait := max(time.Second, 2*l.opts.CheckpointInterval)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		round := l.signedRound() // take it before looking, so no round is missed
		if l.isClosed() {
			select {
			case <-l.closing:
				return nil, ErrClosed
			default: // Close is still draining; it signs a last round
			}
		}
		p, ready, err := l.buildProof(id)
		if err != nil {
			return nil, fmt.Errorf("ledger: proof of %q: %w", id, err)
		}
		if ready {
			return p, nil
		}
		select {
		case <-round:
		case <-l.closing:
			// The final round ran just before closing; look once more.
			if p, ready, err := l.buildProof(id); err == nil && ready {
				return p, nil
			}
			return nil, ErrClosed
		case <-timer.C:
			return nil, fmt.Errorf("ledger: proof of %q: %w", id, ErrPending)
		case <-ctx.Done():
			return nil, ctxErr("proof", ctx)
		}
	}
}

// buildProof assembles the proof of id under the stored checkpoint; ready
// is false when that checkpoint does not cover the entry yet.
func (l *Ledger) buildProof(id string) (*Proof, bool, error) {
	var (
		p        *Proof
		sealed   []byte
		erasedAt string
	)
	err := l.view(func(tx *bolt.Tx) error {
		loc := l.lookupID(tx, id)
		if loc == nil {
			return ErrNotFound
		}
		index := binary.BigEndian.Uint64(loc)
		log := string(loc[8:])
		lb := logBucket(tx, log)
		if lb == nil {
			return fmt.Errorf("id index points at missing log %q", log)
		}
		cpSize := getU64(lb, keyCPSize)
		if cpSize <= index {
			return nil
		}
		sh := l.hashes.stored(lb.Bucket(bktHashes), log, cpSize)
		rp, err := sh.inclusion(index, cpSize)
		if err != nil {
			return err
		}
		lh, err := sh.hash(0, index)
		if err != nil {
			return err
		}
		p = &Proof{
			ID:         id,
			Site:       log,
			Index:      index,
			LeafHash:   lh[:],
			TreeSize:   cpSize,
			Inclusion:  make([][]byte, len(rp)),
			Checkpoint: string(lb.Get(keyCP)),
		}
		for i, x := range rp {
			p.Inclusion[i] = append([]byte(nil), x[:]...)
		}
		sealed = append([]byte(nil), lb.Bucket(bktLeaves).Get(u64(index))...)
		erasedAt = erasureTime(lb, sealed)
		return nil
	})
	if err != nil || p == nil {
		return nil, false, err
	}
	leaf, err := l.keys.openLeaf(p.Site, p.Index, sealed)
	switch {
	case errors.Is(err, ErrErased):
		p.ErasedAt = erasedAt // "" only if the erasure record was lost
	case err != nil:
		return nil, false, err
	default:
		p.Leaf = leaf
		if json.Valid(leaf) {
			p.Record = json.RawMessage(leaf)
		}
	}
	return p, true, nil
}

// erasureTime finds the erasure that covers a sealed leaf, "" if none.
func erasureTime(lb *bolt.Bucket, sealed []byte) string {
	epoch, day, err := sealedHeader(sealed)
	eb := lb.Bucket(bktErased)
	if err != nil || eb == nil {
		return ""
	}
	k, v := eb.Cursor().Seek(eraseKey(epoch, day+1))
	if k == nil || binary.BigEndian.Uint32(k) != epoch || len(v) < 8 {
		return ""
	}
	return time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC().Format(time.RFC3339)
}

// ParseProof decodes proof JSON strictly (no unknown fields, no trailing
// data) and checks its shape: id and site well formed, 32-byte hashes,
// index < tree_size, at most 63 inclusion hashes, not both a leaf and
// erased_at, a checkpoint present. It does not check signatures or hashes: call
// Verify for that. Every failure wraps ErrVerify.
func ParseProof(data []byte) (*Proof, error) {
	if len(data) > maxProofSize {
		return nil, fmt.Errorf("%w: proof of %d bytes (max %d)", ErrVerify, len(data), maxProofSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Proof
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: proof JSON: %v", ErrVerify, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: proof JSON: data after the object", ErrVerify)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &p, nil
}

// check verifies the proof's shape.
func (p *Proof) check() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: proof: %s", ErrVerify, fmt.Sprintf(format, args...))
	}
	switch {
	case !validID(p.ID):
		return fail("bad id %q", p.ID)
	case !ValidLogName(p.Site):
		return fail("bad site %q", p.Site)
	case len(p.LeafHash) != tlog.HashSize:
		return fail("leaf_hash has %d bytes, want %d", len(p.LeafHash), tlog.HashSize)
	case p.TreeSize == 0 || p.TreeSize > math.MaxInt64:
		return fail("bad tree_size %d", p.TreeSize)
	case p.Index >= p.TreeSize:
		return fail("index %d not below tree_size %d", p.Index, p.TreeSize)
	case len(p.Inclusion) > maxInclusion:
		return fail("%d inclusion hashes (max %d)", len(p.Inclusion), maxInclusion)
	case p.Checkpoint == "":
		return fail("no checkpoint")
	case p.Leaf != nil && len(p.Leaf) == 0:
		return fail("empty leaf")
	case len(p.Leaf) > MaxLeafSize:
		return fail("leaf of %d bytes (max %d)", len(p.Leaf), MaxLeafSize)
	case p.Leaf != nil && p.ErasedAt != "":
		return fail("both leaf and erased_at")
	case p.Record != nil && p.Leaf == nil:
		return fail("record without leaf")
	}
	if p.ErasedAt != "" {
		if _, err := time.Parse(time.RFC3339, p.ErasedAt); err != nil {
			return fail("bad erased_at %q", p.ErasedAt)
		}
	}
	for i, h := range p.Inclusion {
		if len(h) != tlog.HashSize {
			return fail("inclusion[%d] has %d bytes, want %d", i, len(h), tlog.HashSize)
		}
	}
	return nil
}

// Verify checks the proof offline against the log's verifier key: the
// checkpoint is signed by v, its origin is v.Name()+"/sites/"+Site, its size
// is TreeSize, the leaf (when present) hashes to LeafHash, the record (when
// present) is the same JSON value as the leaf, and Inclusion proves LeafHash
// at Index under the checkpoint's root. Every failure wraps ErrVerify and
// says which check failed.
func (p *Proof) Verify(v note.Verifier) error {
	if p == nil {
		return fmt.Errorf("%w: nil proof", ErrVerify)
	}
	if err := p.check(); err != nil {
		return err
	}
	origin, size, root, err := ParseCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return err
	}
	// The key name is the host, so the origin is known exactly; matching it
	// whole (not just its "/sites/<site>" suffix) keeps site "scans" from
	// borrowing the checkpoint of log "sites/scans".
	if want := v.Name() + "/sites/" + p.Site; origin != want {
		return fmt.Errorf("%w: checkpoint origin %q is not the log of site %q (want %q)", ErrVerify, origin, p.Site, want)
	}
	if size != p.TreeSize {
		return fmt.Errorf("%w: checkpoint size %d, proof tree_size %d", ErrVerify, size, p.TreeSize)
	}
	var lh tlog.Hash
	copy(lh[:], p.LeafHash)
	if p.Leaf != nil && tlog.RecordHash(p.Leaf) != lh {
		return fmt.Errorf("%w: leaf does not hash to leaf_hash", ErrVerify)
	}
	if p.Record != nil {
		same, err := sameJSON(p.Record, p.Leaf)
		if err != nil {
			return fmt.Errorf("%w: record: %v", ErrVerify, err)
		}
		if !same {
			return fmt.Errorf("%w: record differs from the leaf", ErrVerify)
		}
	}
	rp := make(tlog.RecordProof, len(p.Inclusion))
	for i, h := range p.Inclusion {
		copy(rp[i][:], h)
	}
	if err := tlog.CheckRecord(rp, int64(p.TreeSize), root, int64(p.Index), lh); err != nil {
		return fmt.Errorf("%w: inclusion of leaf %d does not lead to the checkpoint root of size %d: %v", ErrVerify, p.Index, p.TreeSize, err)
	}
	return nil
}

// sameJSON reports whether a and b hold the same JSON value (numbers
// compared by their text).
func sameJSON(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, err
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, fmt.Errorf("leaf is not JSON: %v", err)
	}
	return reflect.DeepEqual(va, vb), nil
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// TlogProof renders the proof as C2SP tlog-proof text
// (https://c2sp.org/tlog-proof):
//
//	c2sp.org/tlog-proof@v1
//	index <N>
//	<base64 hash>        one line per inclusion hash, leaf sibling first
//	                     (blank line)
//	<checkpoint>         the signed note, verbatim
//
// The entry itself is not in it: the verifier brings the leaf (or its hash).
func (p *Proof) TlogProof() string {
	var b strings.Builder
	b.WriteString("c2sp.org/tlog-proof@v1\nindex ")
	b.WriteString(strconv.FormatUint(p.Index, 10))
	b.WriteByte('\n')
	for _, h := range p.Inclusion {
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(p.Checkpoint)
	return b.String()
}
