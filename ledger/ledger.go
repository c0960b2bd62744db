package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
)

// Errors callers branch on. Every error the package returns wraps one of
// these when the cause is one of them, so test with errors.Is.
var (
	ErrNotFound = errors.New("ledger: not found")                      // unknown id, or log with no entries
	ErrErased   = errors.New("ledger: leaf erased")                    // leaf bytes destroyed (hash remains)
	ErrPushback = errors.New("ledger: too many pending appends")       // queue full; caller answers 503 + Retry-After
	ErrClosed   = errors.New("ledger: closed")                         // the ledger was closed
	ErrRange    = errors.New("ledger: bad tree size range")            // consistency from>to, to>size, etc.
	ErrInvalid  = errors.New("ledger: invalid entry")                  // bad log name, id, nonce, leaf or time: a 400
	ErrDupID    = errors.New("ledger: duplicate id")                   // Entry.ID was used before (in any log)
	ErrPending  = errors.New("ledger: no signed checkpoint covers it") // Proof gave up waiting for a checkpoint
	ErrVerify   = errors.New("ledger: proof does not verify")          // Proof.Verify, VerifyConsistency, ParseCheckpoint failures
)

// Limits on entries.
const (
	MaxLeafSize = 64 << 10 // bytes in one leaf
	MaxLogName  = 64       // bytes in a log name
	MaxIDSize   = 128      // bytes in an Entry.ID or Entry.Nonce
)

// File names inside Options.Dir.
const (
	dbFile   = "ledger.db"
	keyFile  = "ledger.key"
	keysFile = "ledger.keys"
)

// Options configures Open. Zero values take the defaults noted.
type Options struct {
	Dir                string                                // data directory: ledger.db, ledger.key (note signer skey, 0600), ledger.keys and its journal ledger.keys.add (erasure key ratchets, 0600)
	Host               string                                // public host, e.g. "crumb.example": checkpoint origin Host+"/sites/"+log, key name Host
	CheckpointInterval time.Duration                         // default 500ms; dirty logs are signed on this timer, never per append
	MaxBatch           int                                   // appends per group commit, default 1024
	MaxPending         int                                   // queued appends before ErrPushback, default 65536
	Now                func() time.Time                      // default time.Now
	OnCommit           func(batch int, commit time.Duration) // optional metrics hook, called after each group commit's fsync
}

// Ledger is a set of append-only Merkle logs in one bbolt file. It is safe
// for concurrent use. See the package documentation.
type Ledger struct {
	opts     Options
	db       *bolt.DB
	signer   note.Signer
	verifier note.Verifier
	vkey     string

	// intake
	intakeMu sync.RWMutex // guards closed and sends on queue
	closed   bool
	queue    chan *request
	wdone    chan struct{} // closed when the writer goroutine ends

	// batchMu serialises group commits with Erase and EraseLog.
	batchMu sync.Mutex

	// mu guards logs and dirty.
	mu    sync.Mutex
	logs  map[string]*logState
	dirty map[string]struct{}

	keys *keyStore

	hashes *hashCache // upper tree levels, for proofs

	idc     *idCodec      // ids made by NewID (key derived from ledger.key)
	nextSeq atomic.Uint64 // sequence number of the next NewID

	nonces *nonceIndex // the nonce index's memory (writer only, under batchMu)

	// failApply, set only by tests, can abort a group commit at entry i.
	failApply func(i int) error

	// checkpoints
	signMu  sync.Mutex // one signing round at a time
	cpMu    sync.Mutex
	cpCh    chan struct{} // closed and replaced after each signing round
	stopCP  chan struct{}
	cpDone  chan struct{}
	closing chan struct{} // closed when Close starts; wakes Proof waiters
}

// logState is the only per-log state kept in memory: two counters.
type logState struct {
	size   uint64 // committed leaves
	cpSize uint64 // size of the latest signed checkpoint
}

// Open opens (creating if needed) the ledger in opts.Dir. On first start it
// creates the checkpoint signing key ledger.key (name opts.Host) and the
// erasure key file ledger.keys, both 0600. It refuses to start when
// ledger.key was made for another host (old checkpoints would not verify)
// or when ledger.db holds logs whose erasure keys are missing. An erasure
// recorded in ledger.db whose key was not destroyed (a crash between the
// two steps) is completed before Open returns.
func Open(opts Options) (*Ledger, error) {
	if opts.Dir == "" {
		return nil, errors.New("ledger: open: Options.Dir is empty")
	}
	if !validKeyName(opts.Host) {
		return nil, fmt.Errorf("ledger: open: Options.Host %q is not a valid note key name (non-empty, no spaces, no '+')", opts.Host)
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = 500 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 65536
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	signer, vkey, seed, err := loadSigner(opts.Dir, opts.Host)
	if err != nil {
		return nil, err
	}
	idc, err := newIDCodec(seed)
	if err != nil {
		return nil, fmt.Errorf("ledger: open: id key: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("ledger: open: verifier key: %w", err)
	}
	db, err := bolt.Open(filepath.Join(opts.Dir, dbFile), 0o600, &bolt.Options{
		Timeout:      5 * time.Second,
		FreelistType: bolt.FreelistMapType,
		// Not writing the freelist on every group commit cut the mean
		// commit from 2.6 to 1.7-1.9 ms under bench/consentload (about
		// 10 KiB less per commit). The price is paid only on opening a
		// file that was not closed cleanly: bbolt then rebuilds the
		// freelist by scanning the file.
		NoFreelistSync: true,
		// Map 1 GiB of address space up front (not memory, not disk): a
		// growing file otherwise makes bbolt remap, which stalls the commit
		// and every reader. Under bench/consentload it cut group commits of
		// 8 ms or more from 425 to 110 in a 10 s window.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("ledger: open %s: another process holds it: %w", filepath.Join(opts.Dir, dbFile), err)
		}
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	// The key files are read and rewritten only under ledger.db's lock: a
	// process still running on this directory could otherwise lose a
	// temporary it is about to rename, or have its keys read before an
	// erasure and written back after it.
	//
	// A crash during an atomic rewrite can leave a temporary copy behind; one
	// of ledger.keys may hold a key erased since, so it must go.
	if err := removeTemps(opts.Dir); err != nil {
		db.Close()
		return nil, err
	}
	keys, err := loadKeyStore(filepath.Join(opts.Dir, keysFile))
	if err != nil {
		db.Close()
		return nil, err
	}
	l := &Ledger{
		opts:     opts,
		db:       db,
		signer:   signer,
		verifier: verifier,
		vkey:     vkey,
		queue:    make(chan *request, opts.MaxPending),
		wdone:    make(chan struct{}),
		logs:     make(map[string]*logState),
		dirty:    make(map[string]struct{}),
		keys:     keys,
		hashes:   newHashCache(),
		idc:      idc,
		cpCh:     make(chan struct{}),
		stopCP:   make(chan struct{}),
		cpDone:   make(chan struct{}),
		closing:  make(chan struct{}),
	}
	redo, err := l.load(seed)
	if err != nil {
		db.Close()
		return nil, err
	}
	keys.settle(redo)
	go l.writer()
	go l.checkpointLoop()
	return l, nil
}

// load creates the top buckets, checks the id key, sets the next NewID
// sequence number, loads the nonce index and reads each log's counters. It
// returns the erasures whose key step did not happen, found in the same
// visit of each log.
func (l *Ledger) load(seed []byte) ([]redoErasure, error) {
	err := l.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bktLogs, bktIDs, bktSeqIDs, bktMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		last, _ := tx.Bucket(bktSeqIDs).Cursor().Last()
		if last != nil {
			// Sequence numbers are never reused once committed; ones handed
			// out but never committed may be (nobody was told of them).
			l.nextSeq.Store(binary.BigEndian.Uint64(last) + 1)
		}
		var err error
		if l.nonces, err = newNonceIndex(tx, seed); err != nil {
			return err
		}
		meta := tx.Bucket(bktMeta)
		store, err := checkIDKey(meta.Get(keyIDCheck), l.idc, last != nil || l.nonces.used(tx))
		if err != nil {
			return err
		}
		if store {
			if err := meta.Put(keyIDCheck, l.idc.check()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	// Every log is visited in a read transaction: a write transaction's
	// commit goes over each bucket opened in it (rebalance, spill), which
	// made Open at 10⁵ logs take ~1.3 s instead of ~0.85 s (BenchmarkOpen).
	var redo []redoErasure
	err = l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktLogs).ForEachBucket(func(k []byte) error {
			name := string(k)
			lb := tx.Bucket(bktLogs).Bucket(k)
			st := &logState{size: getU64(lb, keySize), cpSize: getU64(lb, keyCPSize)}
			key, ok := l.keys.get(name)
			if st.size > 0 && !ok {
				return fmt.Errorf("log %q has %d entries but %s has no key for it: restore %s from the backup taken with ledger.db", name, st.size, keysFile, keysFile)
			}
			if len(key.Key) != 0 {
				if r, ok := unappliedErasure(name, lb, key); ok {
					redo = append(redo, r)
				}
			}
			l.logs[name] = st
			if st.size > st.cpSize {
				l.dirty[name] = struct{}{}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	return redo, nil
}

// Close stops intake (later Appends get ErrClosed), lets every queued append
// complete, signs the final checkpoints and closes the database. It returns
// the first error met while doing so. Calling Close twice returns ErrClosed.
func (l *Ledger) Close() error {
	l.intakeMu.Lock()
	if l.closed {
		l.intakeMu.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.queue)
	l.intakeMu.Unlock()

	<-l.wdone // every queued append has been answered
	close(l.stopCP)
	<-l.cpDone
	err := l.signDirty()
	close(l.closing)
	if cerr := l.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ledger: close: %w", cerr)
	}
	if kerr := l.keys.close(); err == nil && kerr != nil {
		err = fmt.Errorf("ledger: close: %w", kerr)
	}
	return err
}

// VerifierKey returns the note verifier key text ("<host>+<hash>+<key>")
// that checks every checkpoint this ledger signs (GET /v1/log-key).
func (l *Ledger) VerifierKey() string { return l.vkey }

// Verifier returns the note.Verifier for VerifierKey.
func (l *Ledger) Verifier() note.Verifier { return l.verifier }

// Size returns the committed size of log: the number of leaves durably
// appended. It is 0 for a log never appended to.
func (l *Ledger) Size(log string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.logs[log]; st != nil {
		return st.size
	}
	return 0
}

// Logs returns the names of every log with at least one committed leaf,
// sorted. Retention jobs use it to visit each log.
func (l *Ledger) Logs() []string {
	l.mu.Lock()
	names := make([]string, 0, len(l.logs))
	for name, st := range l.logs {
		if st.size > 0 {
			names = append(names, name)
		}
	}
	l.mu.Unlock()
	sort.Strings(names)
	return names
}

// KeyFileNames are the names, in Options.Dir, of ledger.key (checkpoint
// signer), and of ledger.keys.add and ledger.keys (erasure keys: new logs'
// keys are journaled in the first until ledger.keys takes them in). A
// backup must include them beside the Backup copy of ledger.db, copied
// after it and in this order (the journal before the file that may take it
// in): without them no leaf can be read. The journal may not exist.
func KeyFileNames() []string { return []string{keyFile, keysFile + journalSuffix, keysFile} }

// KeyFiles returns the paths of KeyFileNames in this ledger's directory.
func (l *Ledger) KeyFiles() []string {
	var paths []string
	for _, name := range KeyFileNames() {
		paths = append(paths, filepath.Join(l.opts.Dir, name))
	}
	return paths
}

// origin returns the checkpoint origin line for log.
func (l *Ledger) origin(log string) string { return l.opts.Host + "/sites/" + log }

// view runs fn in a read transaction, mapping a closed database to ErrClosed.
func (l *Ledger) view(fn func(tx *bolt.Tx) error) error {
	err := l.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (l *Ledger) isClosed() bool {
	l.intakeMu.RLock()
	defer l.intakeMu.RUnlock()
	return l.closed
}

// removeTemps deletes leftover temporary files of writeFileAtomic.
func removeTemps(dir string) error {
	for _, name := range []string{keyFile, keysFile} {
		matches, err := filepath.Glob(filepath.Join(dir, name+".tmp-*"))
		if err != nil {
			return fmt.Errorf("ledger: open: %w", err)
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return fmt.Errorf("ledger: open: remove leftover %s: %w", m, err)
			}
		}
	}
	return nil
}

// loadSigner reads Dir/ledger.key, creating it on first start. It returns
// the signer, its verifier key and the Ed25519 seed (for derived keys).
func loadSigner(dir, host string) (note.Signer, string, []byte, error) {
	path := filepath.Join(dir, keyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		skey, _, gerr := note.GenerateKey(rand.Reader, host)
		if gerr != nil {
			return nil, "", nil, fmt.Errorf("ledger: generate signing key: %w", gerr)
		}
		if werr := writeFileAtomic(path, []byte(skey+"\n")); werr != nil {
			return nil, "", nil, fmt.Errorf("ledger: write %s: %w", path, werr)
		}
		data = []byte(skey + "\n")
	} else if err != nil {
		return nil, "", nil, fmt.Errorf("ledger: read signing key: %w", err)
	}
	skey := strings.TrimSpace(string(data))
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", nil, fmt.Errorf("ledger: signing key %s: %w", path, err)
	}
	if signer.Name() != host {
		slog.Error("ledger: signing key was made for another host; refusing to start", "key_name", signer.Name(), "host", host, "file", path)
		return nil, "", nil, fmt.Errorf("ledger: signing key %s is for host %q, not %q: checkpoints signed under the old name would no longer verify; start with the old host or move the data directory away", path, signer.Name(), host)
	}
	seed, err := signerSeed(skey)
	if err != nil {
		return nil, "", nil, fmt.Errorf("ledger: signing key %s: %w", path, err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, "", nil, fmt.Errorf("ledger: signing key %s: %w", path, err)
	}
	return signer, vkey, seed, nil
}

// signerSeed returns the Ed25519 seed of a note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64(1 || seed)>").
func signerSeed(skey string) ([]byte, error) {
	parts := strings.SplitN(skey, "+", 5) // the base64 key may itself hold "+"
	if len(parts) != 5 {
		return nil, errors.New("malformed signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("signer key is not an Ed25519 note key")
	}
	return raw[1:], nil
}

// validKeyName reports whether s is a valid note key name.
func validKeyName(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.Contains(s, "+") {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r < 0x20 {
			return false
		}
	}
	return true
}

// ValidLogName reports whether name is a valid log name: 1–64 bytes of
// [A-Za-z0-9_-] with at most one "/" between two non-empty parts.
func ValidLogName(name string) bool {
	if name == "" || len(name) > MaxLogName {
		return false
	}
	slashes := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			slashes++
			if slashes > 1 || i == 0 || i == len(name)-1 {
				return false
			}
		case !urlSafe(c) || c == '.' || c == '~':
			return false
		}
	}
	return true
}

// validID reports whether s is a non-empty URL-safe token of at most
// MaxIDSize bytes ([A-Za-z0-9._~-]).
func validID(s string) bool {
	if s == "" || len(s) > MaxIDSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !urlSafe(s[i]) {
			return false
		}
	}
	return true
}

func urlSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// ctxErr wraps a context error for op.
func ctxErr(op string, ctx context.Context) error {
	return fmt.Errorf("ledger: %s: %w", op, context.Cause(ctx))
}
