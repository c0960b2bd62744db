package ledger

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Erasure keys.
//
// Every leaf is sealed with AES-256-GCM under a key for its log, its epoch
// and its UTC day. For one log and epoch the day keys come from a forward
// hash ratchet:
//
//	k[d+1]       = SHA-256("crumb-ledger-ratchet" || k[d])
//	leafKey(d)   = SHA-256("crumb-ledger-leaf"    || k[d])
//
// ledger.keys holds, per log, only k[from_day]: every later day key can be
// derived from it, no earlier one can. Erase(log, before) replaces it with
// k[day(before)], so the leaves of earlier days can never be decrypted
// again; EraseLog drops the key and bumps the epoch, so every leaf written
// so far is gone and later appends start a fresh ratchet. The file is
// rewritten atomically on every erasure, so an old key does not linger in it
// the way a deleted value lingers in a bbolt page.
//
// A new log's key is not worth a rewrite: with 10⁵ logs the file is ~15 MB
// and rewriting it took ~200 ms, during which every append waits. Keys of new
// logs are appended instead, one JSON line per batch, to ledger.keys.add,
// and fsynced before the batch that needs them commits. Every rewrite of
// ledger.keys (an erasure, Open, Close) takes them in, bumps the file's
// generation and empties the journal; a journal line of another generation
// is stale and ignored, so a crash between the rewrite and the emptying
// cannot bring back a key erased by that rewrite. A damaged last line is a
// crash inside an append whose batch never committed, and is ignored too:
// each append is fsynced before the next begins, so only the last one can
// be damaged, and writing it as one line keeps the damage in the last line
// even when a power loss keeps its end (and newline) but not its start.
//
// An erasure is recorded in ledger.db before ledger.keys is rewritten, so a
// crash between the two leaves a record whose key step never happened.
// Open finds such records (the last of the key's epoch, past its from_day)
// and redoes the key step: nothing else would for EraseLog.

const (
	ratchetLabel = "crumb-ledger-ratchet"
	leafLabel    = "crumb-ledger-leaf"
	maxCachedKey = 4096 // derived day keys kept in memory
	sealVersion  = 1
	sealHeader   = 1 + 4 + 4 // version, epoch, day
	gcmNonceSize = 12
)

// logKey is one log's entry in ledger.keys.
type logKey struct {
	Epoch   uint32 `json:"epoch"`
	FromDay uint32 `json:"from_day"`      // days before it are erased
	Key     []byte `json:"key,omitempty"` // k[FromDay]; empty once the whole log was erased
}

type keyFileV1 struct {
	Version int               `json:"version"`
	Gen     uint64            `json:"gen,omitempty"` // journal lines of another generation are stale
	Logs    map[string]logKey `json:"logs"`
}

// journalSuffix names the journal of new logs' keys beside ledger.keys.
const journalSuffix = ".add"

// journalLine is one append to the journal: the keys of one batch's new
// logs.
type journalLine struct {
	Gen  uint64            `json:"gen"`
	Keys map[string]logKey `json:"keys"`
}

// parseJournalLine returns the keys of one journal line, or false if the
// line is damaged. Journals written before an append became one line hold
// a line per key (gen, log and the logKey's fields); they are read too.
func parseJournalLine(line []byte) (journalLine, bool) {
	var j struct {
		journalLine
		Log string `json:"log"`
		logKey
	}
	if err := json.Unmarshal(line, &j); err != nil {
		return j.journalLine, false
	}
	if j.Log != "" {
		if j.Keys != nil {
			return j.journalLine, false
		}
		j.Keys = map[string]logKey{j.Log: j.logKey}
	}
	if len(j.Keys) == 0 {
		return j.journalLine, false
	}
	for log, k := range j.Keys {
		if log == "" || len(k.Key) != 32 {
			return j.journalLine, false
		}
	}
	return j.journalLine, true
}

type cacheKey struct {
	log        string
	epoch, day uint32
}

// keyStore is ledger.keys and its journal in memory, plus a bounded cache
// of day keys.
type keyStore struct {
	path  string
	mu    sync.Mutex
	logs  map[string]logKey
	cache map[cacheKey]cipher.AEAD
	gen   uint64 // of ledger.keys on disk

	journal     *os.File // ledger.keys.add for appending; nil until needed
	journalSize int64    // its length, all whole lines of generation gen
	// journalReset is set when the journal may hold a partial line or stale
	// keys that could not be cut off: the next new key rewrites ledger.keys
	// instead of appending.
	journalReset bool
	// unsaved is set by loadKeyStore when ledger.keys is missing or its
	// journal holds lines: settle rewrites it.
	unsaved bool
}

// loadKeyStore reads ledger.keys and its journal. It writes nothing: settle
// does, once Open knows what ledger.db says was erased.
func loadKeyStore(path string) (*keyStore, error) {
	ks := &keyStore{path: path, cache: make(map[cacheKey]cipher.AEAD)}
	logs, gen, journal, err := readKeyFiles(path)
	if err != nil {
		return nil, err
	}
	ks.logs, ks.gen, ks.journalSize = logs, gen, journal
	_, err = os.Stat(path)
	// Written on first start too, so that ledger.keys is always there
	// beside its journal.
	ks.unsaved = journal > 0 || errors.Is(err, fs.ErrNotExist)
	return ks, nil
}

// redoErasure is an erasure recorded in ledger.db whose key step ledger.keys
// does not show: the crash came between the two.
type redoErasure struct {
	log    string
	epoch  uint32
	endDay uint32 // first day not erased; math.MaxUint32 for EraseLog
}

// unappliedErasure returns the erasure recorded in lb (a log's bucket) that
// k, the log's live key, has not caught up with. Only the last record of
// k's epoch matters: each erasure covers every day before its endDay, so
// the last one covers all the others.
func unappliedErasure(log string, lb *bolt.Bucket, k logKey) (redoErasure, bool) {
	eb := lb.Bucket(bktErased)
	if eb == nil {
		return redoErasure{}, false
	}
	c := eb.Cursor()
	whole := eraseKey(k.Epoch, math.MaxUint32)
	key, _ := c.Seek(whole)
	switch {
	case key == nil:
		key, _ = c.Last()
	case !bytes.Equal(key, whole):
		key, _ = c.Prev()
	}
	if len(key) != 8 || binary.BigEndian.Uint32(key) != k.Epoch {
		return redoErasure{}, false
	}
	end := binary.BigEndian.Uint32(key[4:])
	return redoErasure{log, k.Epoch, end}, end > k.FromDay
}

// settle redoes the key steps of redo, then rewrites ledger.keys if that
// changed anything or loadKeyStore found it unsaved. A failed rewrite (a
// read-only or full disk) still lets the ledger serve reads: the keys in
// memory are the erased ones, the next new key rewrites the file instead of
// appending to the journal (appending after a torn line is not safe
// either), and the next Open redoes the erasures again.
func (ks *keyStore) settle(redo []redoErasure) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	changed := false
	for _, r := range redo {
		k, ok := ks.logs[r.log]
		if !ok || len(k.Key) == 0 || k.Epoch != r.epoch || r.endDay <= k.FromDay {
			continue
		}
		if r.endDay == math.MaxUint32 && k.Epoch == math.MaxUint32 {
			continue // drop refused it, and EraseLog failed saying so
		}
		if r.endDay != math.MaxUint32 {
			ks.logs[r.log] = logKey{Epoch: k.Epoch, FromDay: r.endDay, Key: ratchet(k.Key, r.endDay-k.FromDay)}
			slog.Warn("ledger: redid an erasure that a crash cut short", "log", r.log, "erased_from_day", dayStart(k.FromDay).Format(time.DateOnly), "erased_before_day", dayStart(r.endDay).Format(time.DateOnly))
		} else {
			ks.logs[r.log] = logKey{Epoch: k.Epoch + 1}
			slog.Warn("ledger: redid an erasure of a whole log that a crash cut short", "log", r.log, "erased_from_day", dayStart(k.FromDay).Format(time.DateOnly))
		}
		ks.dropLocked(r.log)
		changed = true
	}
	if !changed && !ks.unsaved {
		return
	}
	ks.unsaved = false
	if err := ks.saveLocked(); err != nil {
		ks.journalReset = true
		if changed {
			slog.Error("ledger: could not rewrite the key file after redoing erasures; the erased keys are still in it until a rewrite succeeds", "file", ks.path, "err", err)
		}
	}
}

// readKeyFiles returns the keys of ledger.keys with the journal's current
// lines applied, the file's generation and the journal's length in bytes.
func readKeyFiles(path string) (map[string]logKey, uint64, int64, error) {
	logs := make(map[string]logKey)
	var f keyFileV1
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, 0, 0, fmt.Errorf("ledger: read %s: %w", path, err)
	default:
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, 0, 0, fmt.Errorf("ledger: %s is damaged: %w", path, err)
		}
		if f.Version != 1 {
			return nil, 0, 0, fmt.Errorf("ledger: %s: unknown version %d", path, f.Version)
		}
		for name, k := range f.Logs {
			if len(k.Key) != 0 && len(k.Key) != 32 {
				return nil, 0, 0, fmt.Errorf("ledger: %s: key of log %q has %d bytes", path, name, len(k.Key))
			}
			logs[name] = k
		}
	}
	jpath := path + journalSuffix
	jdata, err := os.ReadFile(jpath)
	if errors.Is(err, fs.ErrNotExist) {
		return logs, f.Gen, 0, nil
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("ledger: read %s: %w", jpath, err)
	}
	// After the last newline: nothing, or an append that never committed
	// (its fsync did not return, or the newline would be there).
	lines := bytes.Split(jdata, []byte{'\n'})
	lines = lines[:len(lines)-1]
	for i, line := range lines {
		j, ok := parseJournalLine(line)
		if !ok {
			if i == len(lines)-1 { // the append a crash cut short: never committed
				break
			}
			return nil, 0, 0, fmt.Errorf("ledger: %s is damaged at line %d", jpath, i+1)
		}
		if j.Gen == f.Gen {
			maps.Copy(logs, j.Keys)
		}
	}
	return logs, f.Gen, int64(len(jdata)), nil
}

func (ks *keyStore) get(log string) (logKey, bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.logs[log]
	return k, ok
}

// saveLocked writes the whole key file atomically and durably, as the next
// generation, then empties the journal; on error the in-memory map is left
// to the caller to restore. Once the file is written nothing fails: the
// journal's lines are stale by then, and if it cannot be emptied now the
// next new key rewrites the file again rather than append to it.
func (ks *keyStore) saveLocked() error {
	data, err := json.Marshal(keyFileV1{Version: 1, Gen: ks.gen + 1, Logs: ks.logs})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(ks.path, data); err != nil {
		// The rename may have happened (the directory fsync failed), so
		// the generation on disk is unknown: journal lines of ks.gen could
		// be stale already. Only a rewrite that succeeds may allow appends.
		ks.journalReset = true
		return fmt.Errorf("ledger: write %s: %w", ks.path, err)
	}
	ks.gen++
	ks.journalReset = ks.journalSize > 0 && ks.emptyJournalLocked() != nil
	return nil
}

// emptyJournalLocked cuts the journal to nothing, durably: it may hold keys
// that were erased since, stale but still on disk.
func (ks *keyStore) emptyJournalLocked() error {
	f := ks.journal
	if f == nil {
		var err error
		if f, err = os.OpenFile(ks.path+journalSuffix, os.O_WRONLY, 0); err != nil {
			return err
		}
		defer f.Close()
	}
	err := f.Truncate(0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		ks.journalSize = 0
	}
	return err
}

// appendLocked adds the keys of logs to the journal and fsyncs it. On error
// the journal is cut back to where it was (else the next key rewrites the
// file); the in-memory map is left to the caller to restore.
func (ks *keyStore) appendLocked(logs []string) error {
	jpath := ks.path + journalSuffix
	if ks.journal == nil {
		f, err := os.OpenFile(jpath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("ledger: open %s: %w", jpath, err)
		}
		// The file may be new: its directory entry must be durable too.
		if err := syncDir(filepath.Dir(jpath)); err != nil {
			f.Close()
			return fmt.Errorf("ledger: open %s: %w", jpath, err)
		}
		ks.journal = f
	}
	j := journalLine{Gen: ks.gen, Keys: make(map[string]logKey, len(logs))}
	for _, log := range logs {
		j.Keys[log] = ks.logs[log]
	}
	buf, err := json.Marshal(j)
	if err != nil {
		return err
	}
	buf = append(buf, '\n')
	_, err = ks.journal.Write(buf)
	if err == nil {
		err = ks.journal.Sync()
	}
	if err != nil {
		if ks.journal.Truncate(ks.journalSize) != nil {
			ks.journalReset = true
		}
		return fmt.Errorf("ledger: append to %s: %w", jpath, err)
	}
	ks.journalSize += int64(len(buf))
	return nil
}

// close folds the journal into ledger.keys, so that a clean stop leaves one
// file, and closes it.
func (ks *keyStore) close() error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var err error
	if ks.journalSize > 0 || ks.journalReset {
		err = ks.saveLocked()
	}
	if ks.journal != nil {
		if cerr := ks.journal.Close(); err == nil {
			err = cerr
		}
		ks.journal = nil
	}
	return err
}

// ensureBatch is ensure for the logs of batch, each from the earliest day
// it writes. When every log already has a live key (nearly always) it only
// takes the lock once and allocates nothing.
func (ks *keyStore) ensureBatch(batch []*request) error {
	var need map[string]uint32
	ks.mu.Lock()
	prev := ""
	for _, r := range batch {
		if r.e.Log == prev && need == nil {
			continue
		}
		prev = r.e.Log
		if k, ok := ks.logs[r.e.Log]; ok && len(k.Key) != 0 {
			continue
		}
		if need == nil {
			need = make(map[string]uint32)
		}
		if d, ok := need[r.e.Log]; !ok || r.day < d {
			need[r.e.Log] = r.day
		}
	}
	ks.mu.Unlock()
	if need == nil {
		return nil
	}
	return ks.ensure(need) // checks each log again under the lock
}

// ensure gives every log in need (map log → earliest day it will write) a
// live key, and makes ledger.keys durable before returning: a batch that
// writes a log's first leaves must never commit before its key is on disk.
func (ks *keyStore) ensure(need map[string]uint32) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var added []string
	old := make(map[string]logKey)
	for log, day := range need {
		k, ok := ks.logs[log]
		if ok && len(k.Key) != 0 {
			continue
		}
		seed := make([]byte, 32)
		if _, err := rand.Read(seed); err != nil {
			return fmt.Errorf("ledger: new key: %w", err)
		}
		if ok {
			old[log] = k
		}
		ks.logs[log] = logKey{Epoch: k.Epoch, FromDay: day, Key: seed}
		added = append(added, log)
	}
	if len(added) == 0 {
		return nil
	}
	var err error
	if ks.journalReset {
		err = ks.saveLocked()
	} else {
		err = ks.appendLocked(added)
	}
	if err != nil {
		for _, log := range added {
			if k, ok := old[log]; ok {
				ks.logs[log] = k
			} else {
				delete(ks.logs, log)
			}
		}
		return err
	}
	return nil
}

// aead returns the cipher for log's leaves of (epoch, day), or ErrErased if
// that key was destroyed.
func (ks *keyStore) aead(log string, epoch, day uint32) (cipher.AEAD, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.logs[log]
	if !ok {
		return nil, fmt.Errorf("ledger: no key for log %q", log)
	}
	if epoch < k.Epoch || len(k.Key) == 0 || day < k.FromDay {
		return nil, ErrErased
	}
	if epoch > k.Epoch {
		return nil, fmt.Errorf("ledger: leaf of log %q has epoch %d, key has %d (ledger.keys older than ledger.db?)", log, epoch, k.Epoch)
	}
	ck := cacheKey{log, epoch, day}
	if a := ks.cache[ck]; a != nil {
		return a, nil
	}
	kd := ratchet(k.Key, day-k.FromDay)
	lk := sha256.Sum256(append([]byte(leafLabel), kd...))
	block, err := aes.NewCipher(lk[:])
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(ks.cache) >= maxCachedKey {
		clear(ks.cache)
	}
	ks.cache[ck] = a
	return a, nil
}

// ratchet steps k forward n days.
func ratchet(k []byte, n uint32) []byte {
	cur := append([]byte(nil), k...)
	buf := make([]byte, 0, len(ratchetLabel)+32)
	for range n {
		buf = append(append(buf[:0], ratchetLabel...), cur...)
		s := sha256.Sum256(buf)
		cur = s[:]
	}
	return cur
}

// advance ratchets each log's key to its day in days (erasing earlier
// days) and saves the file once. Logs without a live key, or already past
// their day, are left as they are. On error nothing changed.
func (ks *keyStore) advance(days map[string]uint32) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := make(map[string]logKey, len(days))
	for log, day := range days {
		k, ok := ks.logs[log]
		if !ok || len(k.Key) == 0 || day <= k.FromDay {
			continue
		}
		old[log] = k
		ks.logs[log] = logKey{Epoch: k.Epoch, FromDay: day, Key: ratchet(k.Key, day-k.FromDay)}
	}
	if len(old) == 0 {
		return nil
	}
	if err := ks.saveLocked(); err != nil {
		maps.Copy(ks.logs, old)
		return err
	}
	for log := range old {
		ks.dropLocked(log)
	}
	return nil
}

// drop destroys log's key and bumps its epoch, then saves the file.
func (ks *keyStore) drop(log string) (logKey, bool, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.logs[log]
	if !ok || len(k.Key) == 0 {
		return k, false, nil
	}
	if k.Epoch == math.MaxUint32 {
		return k, false, fmt.Errorf("ledger: log %q erased too often", log)
	}
	ks.logs[log] = logKey{Epoch: k.Epoch + 1}
	if err := ks.saveLocked(); err != nil {
		ks.logs[log] = k
		return k, false, err
	}
	ks.dropLocked(log)
	return k, true, nil
}

func (ks *keyStore) dropLocked(log string) {
	for ck := range ks.cache {
		if ck.log == log {
			delete(ks.cache, ck)
		}
	}
}

// leafAAD appends to dst what binds a sealed leaf to its log, index and
// header.
func leafAAD(dst []byte, log string, index uint64, header []byte) []byte {
	dst = append(dst, leafLabel...)
	dst = append(dst, 0)
	dst = append(dst, log...)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, index)
	return append(dst, header...)
}

// sealInto encrypts leaf, appending version(1) epoch(4) day(4) nonce(12)
// ciphertext+tag to dst, with aad as scratch for the associated data; it
// returns the sealed leaf (nil if the random source failed) and the scratch
// for reuse.
func sealInto(dst, aad []byte, a cipher.AEAD, log string, index uint64, epoch, day uint32, leaf []byte) ([]byte, []byte) {
	start := len(dst)
	dst = append(dst, sealVersion, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[start+1:], epoch)
	binary.BigEndian.PutUint32(dst[start+5:], day)
	dst = append(dst, make([]byte, gcmNonceSize)...)
	nonce := dst[start+sealHeader:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, aad
	}
	aad = leafAAD(aad[:0], log, index, dst[start:start+sealHeader])
	return a.Seal(dst, nonce, leaf, aad), aad
}

// sealedHeader reads the epoch and day of a sealed leaf.
func sealedHeader(v []byte) (epoch, day uint32, err error) {
	if len(v) < sealHeader+gcmNonceSize || v[0] != sealVersion {
		return 0, 0, errors.New("ledger: sealed leaf damaged")
	}
	return binary.BigEndian.Uint32(v[1:]), binary.BigEndian.Uint32(v[5:]), nil
}

// openLeaf decrypts a sealed leaf of log at index; ErrErased if its key is gone.
func (ks *keyStore) openLeaf(log string, index uint64, v []byte) ([]byte, error) {
	epoch, day, err := sealedHeader(v)
	if err != nil {
		return nil, err
	}
	a, err := ks.aead(log, epoch, day)
	if err != nil {
		return nil, err
	}
	leaf, err := a.Open(nil, v[sealHeader:sealHeader+gcmNonceSize], v[sealHeader+gcmNonceSize:], leafAAD(nil, log, index, v[:sealHeader]))
	if err != nil {
		return nil, fmt.Errorf("ledger: leaf %d of log %q fails authentication (damaged, or ledger.keys from another ledger): %w", index, log, err)
	}
	return leaf, nil
}

// dayOf returns t's UTC day number (days since 1970-01-01).
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

func dayStart(d uint32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }
