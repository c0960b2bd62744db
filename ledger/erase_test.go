package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// grepDir returns the needles found anywhere in the raw bytes of the files
// under dir.
func grepDir(t *testing.T, dir string, needles [][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, n) {
				found = append(found, fmt.Sprintf("%q in %s", n, filepath.Base(path)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

type marked struct {
	id     string
	day    int
	marker []byte
	leaf   []byte
}

func TestEraseRetention(t *testing.T) {
	dir := t.TempDir()
	day0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: day0.Add(3*24*time.Hour + 12*time.Hour)} // "now" is day 3, noon
	l := mustOpen(t, dir, func(o *Options) { o.Now = clk.Now })

	var recs []marked
	perDay := map[int]int{}
	for d := range 4 {
		for i := range 5 {
			marker := fmt.Appendf(nil, "MARKER-%d-%d-%s", d, i, newID())
			leaf := leafJSON("ret", string(marker))
			tm := day0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Hour)
			a := mustAppend(t, l, Entry{Log: "ret", Time: tm, Leaf: leaf})
			recs = append(recs, marked{a.ID, d, marker, leaf})
			perDay[d]++
		}
	}
	// Another log's day-0 records must be untouched by erasing "ret".
	keep := mustAppend(t, l, Entry{Log: "keep", Time: day0, Leaf: []byte(`{"keep":"KEEP-MARKER"}`)})
	waitCheckpoint(t, l, "ret", uint64(len(recs)))

	needles := func() [][]byte {
		var ns [][]byte
		for _, r := range recs {
			ns = append(ns, r.marker, r.leaf)
		}
		return append(ns, []byte("KEEP-MARKER"))
	}()
	// At rest everything is encrypted...
	if found := grepDir(t, dir, needles); len(found) > 0 {
		t.Fatalf("plaintext at rest before erasure: %v", found)
	}
	// ...and yet readable: the test below cannot pass vacuously.
	for _, r := range recs {
		p := mustProof(t, l, r.id)
		if !bytes.Equal(p.Leaf, r.leaf) || !bytes.Contains(p.Record, r.marker) {
			t.Fatalf("leaf of %s not readable before erasure", r.id)
		}
	}
	oldKeys := keyFileSecrets(t, dir, "ret")

	// Erase days 0 and 1.
	clk.Set(clk.Now().Add(time.Minute))
	n, err := l.Erase("ret", day0.Add(2*24*time.Hour+5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != perDay[0]+perDay[1] {
		t.Fatalf("Erase = %d, want %d", n, perDay[0]+perDay[1])
	}
	if n, err := l.Erase("ret", day0.Add(2*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second Erase of the same days = %d, %v", n, err)
	}
	checkErased := func(l *Ledger) {
		t.Helper()
		for _, r := range recs {
			p := mustProof(t, l, r.id)
			if err := p.Verify(l.Verifier()); err != nil {
				t.Fatalf("proof of %s (day %d) after erasure: %v", r.id, r.day, err)
			}
			if r.day < 2 {
				if p.Leaf != nil || p.Record != nil || p.ErasedAt == "" {
					t.Fatalf("day %d not erased: %+v", r.day, p)
				}
				if p.ErasedAt != clk.Now().UTC().Format(time.RFC3339) {
					t.Fatalf("erased_at %q, want %q", p.ErasedAt, clk.Now().UTC().Format(time.RFC3339))
				}
				data, _ := json.Marshal(p)
				q, err := ParseProof(data)
				if err != nil {
					t.Fatalf("erased proof does not parse: %v", err)
				}
				if err := q.Verify(l.Verifier()); err != nil {
					t.Fatalf("erased proof round trip: %v", err)
				}
			} else if !bytes.Equal(p.Leaf, r.leaf) || p.ErasedAt != "" {
				t.Fatalf("day %d lost its leaf", r.day)
			}
		}
		var erased, live int
		err := l.Leaves("ret", 0, func(i uint64, leaf []byte, err error) bool {
			if i >= uint64(len(recs)) { // the late entry, checked apart
				if err != nil {
					t.Fatalf("late entry %d: %v", i, err)
				}
				return true
			}
			r := recs[i]
			switch {
			case r.day < 2 && errors.Is(err, ErrErased) && leaf == nil:
				erased++
			case r.day >= 2 && err == nil && bytes.Equal(leaf, r.leaf):
				live++
			default:
				t.Fatalf("Leaves %d (day %d): %q, %v", i, r.day, leaf, err)
			}
			return true
		})
		if err != nil || erased != 10 || live != 10 {
			t.Fatalf("Leaves: %v, erased %d live %d", err, erased, live)
		}
		if p := mustProof(t, l, keep.ID); !bytes.Contains(p.Leaf, []byte("KEEP-MARKER")) {
			t.Fatal("erasing one log erased another")
		}
	}
	checkErased(l)

	// Clock skew: an entry dated in an erased day lands in the oldest live one.
	late := mustAppend(t, l, Entry{Log: "ret", Time: day0, Leaf: []byte(`{"late":1}`)})
	if p := mustProof(t, l, late.ID); string(p.Leaf) != `{"late":1}` {
		t.Fatalf("late entry erased: %+v", p)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if found := grepDir(t, dir, needles); len(found) > 0 {
		t.Fatalf("plaintext found after erasure: %v", found)
	}
	if found := grepDir(t, dir, oldKeys); len(found) > 0 {
		t.Fatalf("the destroyed key is still in the files: %v", found)
	}

	l = mustOpen(t, dir, func(o *Options) { o.Now = clk.Now })
	checkErased(l)
}

// keyFileSecrets returns log's current key from ledger.keys and its
// journal, raw and in base64, to check later that no file holds it any more.
func keyFileSecrets(t *testing.T, dir, log string) [][]byte {
	t.Helper()
	logs, _, _, err := readKeyFiles(filepath.Join(dir, keysFile))
	if err != nil {
		t.Fatal(err)
	}
	k := logs[log].Key
	if len(k) != 32 {
		t.Fatalf("no key for %s in the key files", log)
	}
	return [][]byte{k, []byte(base64.StdEncoding.EncodeToString(k))}
}

func TestEraseLog(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	var recs []marked
	for i := range 12 {
		marker := fmt.Appendf(nil, "GONE-%d-%s", i, newID())
		leaf := leafJSON("acct", string(marker))
		recs = append(recs, marked{mustAppend(t, l, Entry{Log: "acct", Leaf: leaf}).ID, 0, marker, leaf})
	}
	other := mustAppend(t, l, Entry{Log: "acct2", Leaf: []byte("STAYS")})
	waitCheckpoint(t, l, "acct", 12)
	for _, r := range recs {
		if !bytes.Equal(mustProof(t, l, r.id).Leaf, r.leaf) {
			t.Fatal("not readable before EraseLog")
		}
	}
	var needles [][]byte
	for _, r := range recs {
		needles = append(needles, r.marker, r.leaf)
	}
	if found := grepDir(t, dir, needles); len(found) > 0 {
		t.Fatalf("plaintext at rest: %v", found)
	}
	oldKeys := keyFileSecrets(t, dir, "acct")

	n, err := l.EraseLog("acct")
	if err != nil || n != 12 {
		t.Fatalf("EraseLog = %d, %v", n, err)
	}
	if n, err := l.EraseLog("acct"); err != nil || n != 0 {
		t.Fatalf("second EraseLog = %d, %v", n, err)
	}
	if n, err := l.Erase("acct", time.Now()); err != nil || n != 0 {
		t.Fatalf("Erase after EraseLog = %d, %v", n, err)
	}
	// The log goes on with a new key.
	fresh := mustAppend(t, l, Entry{Log: "acct", Leaf: []byte("after")})
	if fresh.Index != 12 {
		t.Fatalf("index after EraseLog %d", fresh.Index)
	}
	check := func(l *Ledger) {
		t.Helper()
		for _, r := range recs {
			p := mustProof(t, l, r.id)
			if p.Leaf != nil || p.ErasedAt == "" {
				t.Fatalf("not erased: %+v", p)
			}
			if err := p.Verify(l.Verifier()); err != nil {
				t.Fatal(err)
			}
		}
		if p := mustProof(t, l, fresh.ID); string(p.Leaf) != "after" {
			t.Fatalf("leaf appended after EraseLog: %+v", p)
		}
		if p := mustProof(t, l, other.ID); string(p.Leaf) != "STAYS" {
			t.Fatal("other log erased")
		}
		count := 0
		l.Leaves("acct", 0, func(i uint64, leaf []byte, err error) bool {
			if (i < 12) != errors.Is(err, ErrErased) {
				t.Fatalf("Leaves %d: %v", i, err)
			}
			count++
			return true
		})
		if count != 13 {
			t.Fatalf("Leaves visited %d", count)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if found := grepDir(t, dir, append(needles, oldKeys...)); len(found) > 0 {
		t.Fatalf("found after EraseLog: %v", found)
	}
	l = mustOpen(t, dir)
	check(l)
	if got := l.Size("acct"); got != 13 {
		t.Fatalf("size %d", got)
	}
}

func TestEraseArguments(t *testing.T) {
	l := mustOpen(t, t.TempDir())
	mustAppend(t, l, Entry{Log: "e", Leaf: []byte("x")})
	if _, err := l.Erase("e", time.Now().Add(72*time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("future: %v", err)
	}
	if _, err := l.Erase("bad name", time.Now()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	if n, err := l.Erase("never", time.Now()); n != 0 || err != nil {
		t.Fatalf("unknown log: %d, %v", n, err)
	}
	if n, err := l.EraseLog("never"); n != 0 || err != nil {
		t.Fatalf("unknown log: %d, %v", n, err)
	}
	if n, err := l.Erase("e", time.Now().Add(-24*time.Hour)); n != 0 || err != nil {
		t.Fatalf("nothing old: %d, %v", n, err)
	}
	// Tomorrow is allowed: it erases today.
	if n, err := l.Erase("e", time.Now().Add(24*time.Hour)); n != 1 || err != nil {
		t.Fatalf("erase today: %d, %v", n, err)
	}
	if err := l.Leaves("e", 0, func(_ uint64, _ []byte, err error) bool {
		if !errors.Is(err, ErrErased) {
			t.Fatalf("leaf not erased: %v", err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Erase("e", time.Now()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestEraseDuringAppends runs retention while appends go on: nothing is
// lost beyond the erased days, and every proof verifies.
func TestEraseDuringAppends(t *testing.T) {
	day0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: day0.Add(5 * 24 * time.Hour)}
	l := mustOpen(t, t.TempDir(), func(o *Options) { o.Now = clk.Now })
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([][]string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				a, err := l.Append(ctx, Entry{Log: "busy", ID: newID(), Time: day0.Add(time.Duration(i%5) * 24 * time.Hour), Leaf: fmt.Appendf(nil, "%d-%d", g, i)})
				if err != nil {
					t.Error(err)
					return
				}
				ids[g] = append(ids[g], a.ID)
			}
		}()
	}
	total := 0
	for d := 1; d <= 5; d++ {
		n, err := l.Erase("busy", day0.Add(time.Duration(d)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	wg.Wait()
	// Everything appended is now dated ≥ day 5's start only if it arrived
	// after the last erase; count what Leaves reports and compare.
	erased := 0
	l.Leaves("busy", 0, func(_ uint64, _ []byte, err error) bool {
		if errors.Is(err, ErrErased) {
			erased++
		} else if err != nil {
			t.Fatal(err)
		}
		return true
	})
	if erased != total {
		t.Fatalf("Erase reported %d, Leaves shows %d erased", total, erased)
	}
	for _, g := range ids {
		for _, id := range g {
			if err := mustProof(t, l, id).Verify(l.Verifier()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLeftoverKeyTemp: a temporary copy of ledger.keys left by a crash may
// hold keys erased later; Open removes it.
func TestLeftoverKeyTemp(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	mustAppend(t, l, Entry{Log: "tmp", Leaf: []byte("x")})
	l.Close()
	data, err := os.ReadFile(filepath.Join(dir, keysFile))
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, keysFile+".tmp-123456")
	if err := os.WriteFile(stale, data, 0o600); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temp file still there: %v", err)
	}
	if l.Size("tmp") != 1 {
		t.Fatal("ledger lost its log")
	}
}

func TestKeyFilePermissions(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	mustAppend(t, l, Entry{Log: "perm", Leaf: []byte("x")})
	files := append(l.KeyFiles(), filepath.Join(dir, dbFile))
	if len(l.KeyFiles()) != 3 {
		t.Fatalf("KeyFiles = %v", l.KeyFiles())
	}
	if err := l.Close(); err != nil { // ledger.keys takes in the journal
		t.Fatal(err)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
}

func TestKeyName(t *testing.T) {
	dir := t.TempDir()
	if _, err := KeyName(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty dir: %v", err)
	}
	l := mustOpen(t, dir)
	l.Close()
	if name, err := KeyName(dir); err != nil || name != testHost {
		t.Fatalf("KeyName = %q, %v", name, err)
	}
}

// TestEraseMany erases several logs in one call, each to its own cutoff,
// and refuses a batch with one bad cutoff without erasing anything.
func TestEraseMany(t *testing.T) {
	day0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: day0.Add(3 * 24 * time.Hour)}
	l := mustOpen(t, t.TempDir(), func(o *Options) { o.Now = clk.Now })
	ids := map[string][]string{} // log → ids by day
	for _, log := range []string{"a", "b", "c"} {
		for d := range 3 {
			a := mustAppend(t, l, Entry{Log: log, Time: day0.Add(time.Duration(d) * 24 * time.Hour), Leaf: fmt.Appendf(nil, `{"%s":%d}`, log, d)})
			ids[log] = append(ids[log], a.ID)
		}
	}
	erasedDays := func() map[string]int {
		got := map[string]int{}
		for log, byDay := range ids {
			for _, id := range byDay {
				if p := mustProof(t, l, id); p.ErasedAt != "" {
					got[log]++
				}
			}
		}
		return got
	}

	bad := map[string]time.Time{"a": day0.Add(24 * time.Hour), "b": clk.Now().Add(72 * time.Hour)}
	if _, err := l.EraseMany(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a cutoff in the future: %v", err)
	}
	if _, err := l.EraseMany(map[string]time.Time{"a": day0.Add(24 * time.Hour), "bad name": day0}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bad log name: %v", err)
	}
	if got := erasedDays(); len(got) != 0 {
		t.Fatalf("a refused batch erased %v", got)
	}

	n, err := l.EraseMany(map[string]time.Time{
		"a":     day0.Add(24 * time.Hour),     // day 0
		"b":     day0.Add(2*24*time.Hour + 1), // days 0 and 1
		"c":     day0,                         // nothing
		"never": day0.Add(24 * time.Hour),     // no such log
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 1, "b": 2, "c": 0, "never": 0}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Fatalf("EraseMany = %v, want %v", n, want)
	}
	if got := erasedDays(); got["a"] != 1 || got["b"] != 2 || got["c"] != 0 {
		t.Fatalf("erased per log %v, want a:1 b:2 c:0", got)
	}
	// The erased leaves are the oldest ones, and the others still read.
	if p := mustProof(t, l, ids["b"][2]); string(p.Leaf) != `{"b":2}` {
		t.Fatalf("b's day 2 = %q", p.Leaf)
	}
	if p := mustProof(t, l, ids["a"][0]); p.Leaf != nil || p.Verify(l.Verifier()) != nil {
		t.Fatalf("a's day 0 after erasure: %+v", p)
	}
	// Again: nothing more to erase.
	if n, err := l.EraseMany(map[string]time.Time{"a": day0.Add(24 * time.Hour), "b": day0.Add(2 * 24 * time.Hour)}); err != nil || n["a"]+n["b"] != 0 {
		t.Fatalf("second pass = %v, %v", n, err)
	}
}
