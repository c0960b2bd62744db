package ledger

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// Entry ids made by the ledger.
//
// An id from NewID is 16 bytes, base64url without padding (22 chars), like
// any 128-bit random id, but it is the AES-128 encryption of one block
//
//	uint64(sequence) || 8 zero bytes
//
// under a key derived from the checkpoint signing key (see idKeyLabel). To
// anyone without the key the ids are indistinguishable from random and
// reveal neither the sequence nor how many consents there are; the ledger
// decrypts an id and, when the last 8 bytes are zero, knows it as its own
// and finds it by sequence number. A foreign id (one a caller made) passes
// that check with probability 2^-64, and forging one takes about 2^64 tries.
//
// Why: the global id index then grows at its end like the leaves do. With
// random ids every append dirtied a 4 KiB page of its own in that index
// (see BENCHMARKS.txt, section 6).

// idKeyLabel is the HKDF info string that derives the id key from the
// Ed25519 seed of ledger.key. No new key file is needed, and a backup that
// has ledger.key (KeyFiles) has the id key too.
const idKeyLabel = "crumb-ledger-id-key/v1"

// idLen is the length of an id made by NewID.
const idLen = 22

// idEncoding is base64url without padding, strict: an id has exactly one
// spelling (the 4 spare bits of the last character must be zero), so two
// strings never decode to the same sequence.
var idEncoding = base64.RawURLEncoding.Strict()

// idCodec encrypts sequence numbers into ids and back. A cipher.Block from
// crypto/aes holds only its expanded key: it is safe for concurrent use.
type idCodec struct{ block cipher.Block }

// newIDCodec derives the id key from the signing key's seed.
func newIDCodec(seed []byte) (*idCodec, error) {
	key, err := hkdf.Key(sha256.New, seed, nil, idKeyLabel, 16)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &idCodec{block: block}, nil
}

// encode returns the id of sequence number seq.
func (c *idCodec) encode(seq uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seq)
	c.block.Encrypt(b[:], b[:])
	var out [idLen]byte
	idEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// decode returns the sequence number of id if it is one of this ledger's
// own ids (made by encode with this key), ok false for anything else.
func (c *idCodec) decode(id string) (seq uint64, ok bool) {
	if len(id) != idLen {
		return 0, false
	}
	var src [idLen]byte // not []byte(id): that would allocate
	copy(src[:], id)
	var b [16]byte
	if n, err := idEncoding.Decode(b[:], src[:]); err != nil || n != 16 {
		return 0, false
	}
	c.block.Decrypt(b[:], b[:])
	if binary.BigEndian.Uint64(b[8:]) != 0 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:8]), true
}

// check returns a value that identifies the key without revealing it: the
// encryption of a block of 0xff bytes, a plaintext no id uses (its last 8
// bytes are not zero). Open stores it beside the ids and compares.
func (c *idCodec) check() []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = 0xff
	}
	c.block.Encrypt(b, b)
	return b
}

// NewID returns a fresh entry id for Entry.ID: 128 bits, base64url without
// padding (22 chars of [A-Za-z0-9_-]), unpredictable and indistinguishable
// from random to anyone without ledger.key. The ledger indexes such ids by
// their sequence number, so appends with them cost less than with random
// ids (see the package documentation). A committed id is never handed out
// again, also across restarts; one handed out but never appended leaves a
// gap, or comes back after a restart (nobody can have been told of it: an
// id is only reported once Append has committed it). NewID does not touch
// the disk and is safe for concurrent use.
func (l *Ledger) NewID() string {
	return l.idc.encode(l.nextSeq.Add(1) - 1)
}

// seqKey is the idseq/ key of sequence number seq.
func seqKey(seq uint64) [8]byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k
}

// checkIDKey compares the stored id key check with c's and says whether to
// store it (absent, or nothing made under the old key yet). A ledger.db that
// holds ids or nonce hashes made under another key (ledger.key replaced) is
// refused: its ids and nonces could no longer be found. Both keys derive
// from ledger.key's seed, so one check covers both.
func checkIDKey(meta []byte, c *idCodec, used bool) (store bool, err error) {
	want := c.check()
	switch {
	case meta == nil:
		return true, nil
	case subtle.ConstantTimeCompare(meta, want) == 1:
		return false, nil
	case !used:
		return true, nil
	}
	return false, fmt.Errorf("%s is not the key this %s made its ids and nonce hashes with: restore %s from the backup taken with %s", keyFile, dbFile, keyFile, dbFile)
}
