/*
Package ledger is Crumb's append-only, tamper-evident proof-of-consent
store: one RFC 6962 Merkle log per name (a site id, or "<site id>/scans"),
kept in one bbolt file, with signed checkpoints, inclusion and consistency
proofs that anyone can check offline, and erasure by crypto-shredding.

The ledger stores opaque leaf bytes. What a leaf means (the consent record
JSON of DESIGN §3) is decided by the caller.

# Basics

Open a ledger on a data directory and a public host name:

	l, err := ledger.Open(ledger.Options{Dir: "data", Host: "crumb.example"})
	...
	defer l.Close()

	id := l.NewID() // 128-bit, random-looking; put it in the record too
	a, err := l.Append(ctx, ledger.Entry{Log: site, ID: id, Nonce: nonce, Leaf: recordJSON})
	// a.Index is the leaf's position, a.LeafHash its RFC 6962 hash; the
	// leaf is on disk (fsync'd) when Append returns.

	p, err := l.Proof(ctx, id)     // proof JSON (DESIGN §4), waits ≤ ~1 s for a checkpoint
	err = p.Verify(l.Verifier())   // what an auditor does, offline, with VerifierKey()

A log's leaf i hashes to SHA-256(0x00 || leaf) and interior nodes to
SHA-256(0x01 || left || right) (tlog.RecordHash, tlog.NodeHash). Its
checkpoint is a C2SP tlog-checkpoint body

	crumb.example/sites/<log>
	<size>
	<base64 root hash>

signed as a C2SP signed note with the Ed25519 key in ledger.key, whose key
name is the host. VerifierKey returns the matching verifier key.

# Tree layout

Each log stores its tree the way golang.org/x/mod/sumdb/tlog expects: every
hash tlog.StoredHashes returns for leaf n is put at key
tlog.StoredHashIndex(0, n)+k, big-endian, and never overwritten. Appending a
leaf reads at most log₂ n earlier hashes; the root of any size
(tlog.TreeHash) and any consistency proof (tlog.ProveTree) read O(log n)
hashes. An inclusion proof reads one stored hash per level: the hashes of
the incomplete subtrees on the tree's right edge, which would take several
reads each, are computed once per checkpoint size and shared by all its
proofs. Nothing scans a log, and memory holds no per-leaf state: two
counters per log, the right-edge hashes of a log's latest proved size (a
few hundred bytes, kept for at most 32768 logs), a bounded cache of day
keys and upper-level hashes, and the
newest nonces (at most two generations of 65536, a few MiB, however large
the logs grow).

# Durability

Appends are group committed. One writer goroutine takes whatever is queued
(up to Options.MaxBatch), applies it in a single bbolt transaction (one
fsync) and then answers every caller of that batch; while it waits for the
disk the next batch queues up. A batch that fails fails every append in it,
and none of it is visible. A nonce already used in a log answers with the
first entry (Duplicate set) instead of adding a leaf, also when both arrive
in the same batch. When Options.MaxPending appends are queued, Append
returns ErrPushback at once: the caller should answer 503 with Retry-After.

Checkpoints are signed on a timer (Options.CheckpointInterval, default
500ms) for every log that grew, never per append; Close signs the last
ones. A size is signed at most once, and the tree is append-only, so the log
never signs two different roots for one size. Proof waits for the round
that covers a fresh leaf instead of failing.

# Erasure

Retention and account cancellation must make a record unrecoverable from
the data files, yet every tree and proof must stay valid. bbolt keeps a
deleted value's bytes in freed pages, so leaves are never stored in the
clear: each is sealed with AES-256-GCM (random nonce, associated data = log
name, index and header) under a key for its log and UTC day. The day keys of
a log come from a forward hash ratchet

	k[d+1] = SHA-256("crumb-ledger-ratchet" || k[d])
	key(d) = SHA-256("crumb-ledger-leaf" || k[d])

and ledger.keys (0600, rewritten atomically on every erasure) holds only
the oldest live k[from_day]. A new log's key is appended to the journal
ledger.keys.add instead, and fsynced before its first leaf commits; each
rewrite of ledger.keys (an erasure, Open, Close) takes the journal in and
empties it. Erase(log, before) ratchets it forward to before's
day: earlier days can never be decrypted again. EraseLog drops the key
(later appends start a new epoch with a new key). The leaf hashes stay, so
a proof of an erased record still verifies; it just has no leaf and says
when the record was erased (erased_at). The erasure is recorded in
ledger.db before ledger.keys is rewritten; if a crash comes between the
two, the next Open redoes the key step from the record (and logs a
warning), so an EraseLog that nothing would retry still destroys the key.

# Caveats

Backups: Backup copies ledger.db while appends go on; copy the files of
KeyFiles beside it. An old backup of ledger.keys can still decrypt what it
could decrypt when it was taken: keep backups no longer than the retention
period.

ledger.keys is rewritten whole on each erasure: with tens of thousands of
logs, erase them together with EraseMany (one rewrite and one transaction
for the lot), as the retention pass does, rather than with an Erase each.

IDs sit in plaintext indexes, nonces as keyed hashes; ids are random tokens, not
personal data. The UTC day of each leaf is stored in the clear beside it.

# Entry ids and nonces

Any unique URL-safe token can be an Entry.ID, but ids from NewID are
cheaper to append: a NewID id is the AES encryption of a sequence number
(and 8 zero bytes) under a key derived from ledger.key, so it looks like
128 random bits to everyone else while the ledger indexes it by its
sequence number, at the end of the index (idseq/), instead of at a random
place (ids/, where a random id costs a 4 KiB page write of its own). The
counter starts after the largest committed sequence at Open: a committed id
is never handed out again (one handed out but never appended may be, after a
restart).

Nonces are random too, and must be found for as long as the ledger lives.
The nonce index keys a 128-bit keyed hash of (log, nonce) and works like a
small log-structured merge tree: a new nonce is written in append order to
the newest generation (and kept in memory); a full generation (65536
nonces) is merged into the sorted index a slice per group commit, in hash
order, so each page of that index takes many inserts at once instead of
one page write per nonce. Logs written before this index existed keep
their old per-log n/ bucket, which is still read.

Both keys come from ledger.key, so Open refuses a ledger.db whose ids or
nonce hashes were made under another ledger.key: restore it from the
backup. No extra key file is needed.
*/
package ledger
