package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// copyLive copies a running ledger into a new directory as a crash would
// leave it: ledger.db through Backup, then the key files as they are.
func copyLive(t *testing.T, l *Ledger) string {
	t.Helper()
	dst := t.TempDir()
	f, err := os.Create(filepath.Join(dst, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backup(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, kf := range l.KeyFiles() {
		data, err := os.ReadFile(kf)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(kf)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func journalOf(dir string) string { return filepath.Join(dir, keysFile+journalSuffix) }

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestKeyJournalNewLogs: a new log's key is appended to the journal, not
// written by rewriting ledger.keys; a copy taken before anything took the
// journal in reads every leaf, and opening it folds the journal in.
func TestKeyJournalNewLogs(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	var ids []string
	var leaves [][]byte
	for _, log := range []string{"a", "b", "a", "b"} {
		leaf := leafJSON(log, "J")
		ids = append(ids, mustAppend(t, l, Entry{Log: log, Leaf: leaf}).ID)
		leaves = append(leaves, leaf)
	}
	var snapshot keyFileV1
	if data, err := os.ReadFile(filepath.Join(dir, keysFile)); err != nil || json.Unmarshal(data, &snapshot) != nil || len(snapshot.Logs) != 0 {
		t.Fatalf("ledger.keys was rewritten for new logs: %s, %v", data, err)
	}
	journal, err := os.ReadFile(journalOf(dir))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(journal, []byte("\n")); n != 2 {
		t.Fatalf("journal has %d lines, want one per new log (2):\n%s", n, journal)
	}

	cp := copyLive(t, l)
	c := mustOpen(t, cp)
	for i, id := range ids {
		if p := mustProof(t, c, id); !bytes.Equal(p.Leaf, leaves[i]) {
			t.Fatalf("copy: leaf of %s = %q, want %q", id, p.Leaf, leaves[i])
		}
	}
	if n := fileSize(t, journalOf(cp)); n != 0 {
		t.Errorf("Open left %d bytes in the journal", n)
	}
	logs, _, _, err := readKeyFiles(filepath.Join(cp, keysFile))
	if err != nil || len(logs["a"].Key) != 32 || len(logs["b"].Key) != 32 {
		t.Fatalf("ledger.keys after Open: %v, %v", logs, err)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := fileSize(t, journalOf(dir)); n != 0 {
		t.Errorf("Close left %d bytes in the journal", n)
	}
	if _, err := os.Stat(filepath.Join(dir, keysFile)); err != nil {
		t.Errorf("Close did not write ledger.keys: %v", err)
	}
}

// TestKeyJournalStaleAfterErase: a crash after an erasure rewrote
// ledger.keys but before the journal was emptied leaves the erased key in
// the journal; it is stale (another generation), so it neither brings the
// erased days back nor stays on disk once the ledger opens.
func TestKeyJournalStaleAfterErase(t *testing.T) {
	dir := t.TempDir()
	day0 := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: day0.Add(2 * 24 * time.Hour)}
	l := mustOpen(t, dir, func(o *Options) { o.Now = clk.Now })
	gone := mustAppend(t, l, Entry{Log: "ret", Time: day0, Leaf: []byte(`{"m":"GONE"}`)})
	kept := mustAppend(t, l, Entry{Log: "ret", Time: day0.Add(2 * 24 * time.Hour), Leaf: []byte(`{"m":"KEPT"}`)})
	journal, err := os.ReadFile(journalOf(dir))
	if err != nil || len(journal) == 0 {
		t.Fatalf("journal before the erasure: %q, %v", journal, err)
	}
	oldKey := keyFileSecrets(t, dir, "ret")
	if n, err := l.Erase("ret", day0.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("Erase = %d, %v", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(journalOf(dir), journal, 0o600); err != nil { // the crash
		t.Fatal(err)
	}

	l = mustOpen(t, dir, func(o *Options) { o.Now = clk.Now })
	if p := mustProof(t, l, gone.ID); p.Leaf != nil || p.ErasedAt == "" {
		t.Fatalf("erased leaf came back from a stale journal: leaf %q erased_at %q", p.Leaf, p.ErasedAt)
	}
	if p := mustProof(t, l, kept.ID); string(p.Leaf) != `{"m":"KEPT"}` {
		t.Fatalf("kept leaf = %q", p.Leaf)
	}
	if found := grepDir(t, dir, oldKey); len(found) > 0 {
		t.Fatalf("the erased key is still on disk after Open: %v", found)
	}
}

// TestKeyJournalDamage: a torn last line (a crash inside an append, whose
// batch never committed) is ignored; a bad line before the last refuses
// Open, naming the file.
func TestKeyJournalDamage(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	a := mustAppend(t, l, Entry{Log: "a", Leaf: []byte(`{"a":1}`)})

	torn := copyLive(t, l)
	f, err := os.OpenFile(journalOf(torn), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"gen":0,"log":"x","epoch":0,"from_`)
	f.Close()
	c := mustOpen(t, torn)
	if p := mustProof(t, c, a.ID); string(p.Leaf) != `{"a":1}` {
		t.Fatalf("leaf after a torn journal line = %q", p.Leaf)
	}
	if _, ok := c.keys.get("x"); ok {
		t.Fatal("the torn line's log got a key")
	}

	damaged := copyLive(t, l)
	journal, err := os.ReadFile(journalOf(damaged))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(journalOf(damaged), append([]byte("not json\n"), journal...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: damaged, Host: testHost})
	if err == nil || !strings.Contains(err.Error(), "ledger.keys.add is damaged at line 1") {
		t.Fatalf("Open with a damaged journal: %v", err)
	}
}

// FuzzReadKeyJournal: whatever the journal holds, reading it either fails
// with an error or yields keys of 32 bytes only, and a torn last line (no
// newline) changes nothing: the result is that of the whole lines alone.
func FuzzReadKeyJournal(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	line, _ := json.Marshal(journalLine{Gen: 3, Keys: map[string]logKey{"a": {Epoch: 1, FromDay: 20000, Key: key}, "c": {Key: key}}})
	stale, _ := json.Marshal(journalLine{Gen: 2, Keys: map[string]logKey{"b": {Key: key}}})
	f.Add(append(line, '\n'))
	f.Add([]byte(`{"gen":3,"log":"a","epoch":1,"from_day":2,"key":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="}` + "\n")) // a line per key, as journals were first written
	f.Add(append(append(line, '\n'), line[:20]...))
	f.Add(append(append(stale, '\n'), append(line, '\n')...))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"gen":3,"log":"a","key":"AA=="}` + "\n"))
	read := func(t *testing.T, journal []byte) (map[string]logKey, error) {
		path := filepath.Join(t.TempDir(), keysFile)
		if err := os.WriteFile(path, []byte(`{"version":1,"gen":3,"logs":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+journalSuffix, journal, 0o600); err != nil {
			t.Fatal(err)
		}
		logs, gen, n, err := readKeyFiles(path)
		if err == nil && (gen != 3 || n != int64(len(journal))) {
			t.Fatalf("gen %d, journal length %d of %d", gen, n, len(journal))
		}
		return logs, err
	}
	f.Fuzz(func(t *testing.T, journal []byte) {
		logs, err := read(t, journal)
		if err != nil {
			return
		}
		for log, k := range logs {
			if len(k.Key) != 32 {
				t.Fatalf("log %q: key of %d bytes", log, len(k.Key))
			}
		}
		whole, werr := read(t, journal[:bytes.LastIndexByte(journal, '\n')+1])
		if werr != nil || !reflect.DeepEqual(logs, whole) {
			t.Fatalf("the torn tail changed the keys: %v vs %v (%v)", logs, whole, werr)
		}
	})
}

// TestKeyJournalPowerLossInAppend: a power loss during the fsync of an
// append can persist its last page (with the line's newline) but not its
// first, since pages are written back in any order. The batch never
// committed, so Open must ignore that damage rather than refuse forever.
func TestKeyJournalPowerLossInAppend(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	a := mustAppend(t, l, Entry{Log: "a", Leaf: []byte(`{"a":1}`)})
	cp := copyLive(t, l)
	before, err := os.ReadFile(journalOf(cp))
	if err != nil {
		t.Fatal(err)
	}
	// What a batch writing the first leaves of two logs journals.
	if err := l.keys.ensure(map[string]uint32{"x": 20000, "y": 20000}); err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(journalOf(l.opts.Dir))
	if err != nil || !bytes.HasPrefix(journal, before) || len(journal) == len(before) {
		t.Fatalf("journal after ensure: %q (before %q), %v", journal, before, err)
	}
	added := journal[len(before):]
	clear(added[:16]) // its first page never reached the disk, its last did
	if err := os.WriteFile(journalOf(cp), journal, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(Options{Dir: cp, Host: testHost})
	if err != nil {
		t.Fatalf("Open after a power loss inside a journal append: %v", err)
	}
	defer c.Close()
	if p := mustProof(t, c, a.ID); string(p.Leaf) != `{"a":1}` {
		t.Fatalf("leaf after the power loss = %q", p.Leaf)
	}
}

// TestKeyJournalAfterFailedRewrite: a rewrite of ledger.keys that fails
// after its rename (at the directory fsync) has still put the next
// generation on disk. Keys of new logs made after it must survive a crash,
// not be journaled under the generation the file no longer has.
func TestKeyJournalAfterFailedRewrite(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	mustAppend(t, l, Entry{Log: "a", Leaf: []byte(`{"a":1}`)})
	mustAppend(t, l, Entry{Log: "b", Leaf: []byte(`{"b":1}`)})
	injected := errors.New("injected directory fsync failure")
	real := syncDir
	syncDir = func(string) error { return injected }
	_, err := l.EraseLog("b")
	syncDir = real
	if !errors.Is(err, injected) {
		t.Fatalf("EraseLog with the directory fsync failing: %v", err)
	}
	c := mustAppend(t, l, Entry{Log: "c", Leaf: []byte(`{"c":1}`)})

	r, err := Open(Options{Dir: copyLive(t, l), Host: testHost}) // the crash
	if err != nil {
		t.Fatalf("Open after the crash: %v", err)
	}
	defer r.Close()
	if p := mustProof(t, r, c.ID); string(p.Leaf) != `{"c":1}` {
		t.Fatalf("leaf of the new log after the crash = %q", p.Leaf)
	}
}
