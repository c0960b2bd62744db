package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// keyFilesSnapshot is ledger.keys and its journal as they were at one moment
// (nil: the file did not exist).
type keyFilesSnapshot map[string][]byte

func snapshotKeyFiles(t *testing.T, dir string) keyFilesSnapshot {
	t.Helper()
	s := keyFilesSnapshot{}
	for _, name := range []string{keysFile, keysFile + journalSuffix} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		s[name] = data
	}
	return s
}

func (s keyFilesSnapshot) restore(t *testing.T, dir string) {
	t.Helper()
	for name, data := range s {
		path := filepath.Join(dir, name)
		var err error
		if data == nil {
			err = os.Remove(path)
			if errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		} else {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// keyFileState is what ledger.keys (with its journal) holds for log, and
// its generation.
func keyFileState(t *testing.T, dir, log string) (logKey, uint64) {
	t.Helper()
	logs, gen, _, err := readKeyFiles(filepath.Join(dir, keysFile))
	if err != nil {
		t.Fatal(err)
	}
	return logs[log], gen
}

// TestEraseCrashBeforeKeyStep: a crash after an erasure's record committed
// to ledger.db but before ledger.keys was rewritten. Open must redo the key
// step, or (for EraseLog, which nothing retries) the leaves stay readable
// for good.
func TestEraseCrashBeforeKeyStep(t *testing.T) {
	day0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	before := func(d int) func(*Ledger) error {
		return func(l *Ledger) error { _, err := l.Erase("crash", day0.Add(time.Duration(d)*24*time.Hour)); return err }
	}
	eraseLog := func(l *Ledger) error { _, err := l.EraseLog("crash"); return err }
	for _, c := range []struct {
		name      string
		steps     []func(*Ledger) error
		crashFrom int  // steps from this one on lose their key step
		erased    int  // days before day0+erased are gone...
		whole     bool // ...or every leaf written before the steps
	}{
		{"Erase", []func(*Ledger) error{before(2)}, 0, 2, false},
		{"Erase twice", []func(*Ledger) error{before(1), before(2)}, 0, 2, false},
		{"Erase, then Erase lost", []func(*Ledger) error{before(1), before(3)}, 1, 3, false},
		{"EraseLog", []func(*Ledger) error{eraseLog}, 0, 0, true},
		{"Erase, then EraseLog", []func(*Ledger) error{before(2), eraseLog}, 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &clock{t: day0.Add(3*24*time.Hour + 12*time.Hour)}
			withClock := func(o *Options) { o.Now = clk.Now }
			l := mustOpen(t, dir, withClock)
			var recs []marked
			for d := range 4 {
				for i := range 2 {
					marker := fmt.Sprintf("CRASH-%d-%d-%s", d, i, newID())
					leaf := leafJSON("crash", marker)
					tm := day0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Hour)
					recs = append(recs, marked{mustAppend(t, l, Entry{Log: "crash", Time: tm, Leaf: leaf}).ID, d, []byte(marker), leaf})
				}
			}
			other := mustAppend(t, l, Entry{Log: "other", Time: day0, Leaf: []byte("OTHER")})
			if fileSize(t, journalOf(dir)) == 0 {
				t.Fatal("the new logs' keys are not in the journal: the crash would not include one")
			}
			var snap keyFilesSnapshot
			for i, step := range c.steps {
				if i == c.crashFrom {
					snap = snapshotKeyFiles(t, dir)
				}
				if err := step(l); err != nil {
					t.Fatal(err)
				}
			}
			// Close before putting the key files back: it rewrites
			// ledger.keys only when the journal holds lines, and the
			// erasure emptied it, so what stays is what a crash leaves.
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			snap.restore(t, dir)
			old, _ := keyFileState(t, dir, "crash")
			if len(old.Key) != 32 {
				t.Fatal("the restored key files hold no live key: no crash to recover from")
			}
			oldSecret := keyFileSecrets(t, dir, "crash")

			l = mustOpen(t, dir, withClock)
			count := 0
			err := l.Leaves("crash", 0, func(i uint64, leaf []byte, err error) bool {
				r := recs[i]
				gone := c.whole || r.day < c.erased
				switch {
				case gone && errors.Is(err, ErrErased) && leaf == nil:
				case !gone && err == nil && bytes.Equal(leaf, r.leaf):
				default:
					t.Errorf("leaf %d (day %d, erased %v): %q, %v", i, r.day, gone, leaf, err)
				}
				count++
				return true
			})
			if err != nil || count != len(recs) {
				t.Fatalf("Leaves: %v after %d", err, count)
			}
			if p := mustProof(t, l, other.ID); string(p.Leaf) != "OTHER" {
				t.Fatalf("another log erased: %+v", p)
			}

			// ledger.keys itself holds the erased state, and no file the old key.
			got, gen := keyFileState(t, dir, "crash")
			want := logKey{Epoch: old.Epoch + 1}
			if !c.whole {
				end := uint32(dayOf(day0)) + uint32(c.erased)
				want = logKey{Epoch: old.Epoch, FromDay: end, Key: ratchet(old.Key, end-old.FromDay)}
			}
			if got.Epoch != want.Epoch || got.FromDay != want.FromDay || !bytes.Equal(got.Key, want.Key) {
				t.Fatalf("ledger.keys holds %+v for the log, want %+v", got, want)
			}
			if found := grepDir(t, dir, oldSecret); len(found) > 0 {
				t.Fatalf("the erased key is still in the files: %v", found)
			}

			// The log goes on, under a new key if it was erased whole.
			fresh := mustAppend(t, l, Entry{Log: "crash", Leaf: []byte("FRESH")})
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, gen = keyFileState(t, dir, "crash")
			for range 2 { // the second Open has nothing left to redo
				l = mustOpen(t, dir, withClock)
				var leaf []byte
				err := l.Leaves("crash", fresh.Index, func(_ uint64, lf []byte, err error) bool {
					if err != nil {
						t.Fatalf("leaf appended after the recovery: %v", err)
					}
					leaf = lf
					return false
				})
				if err != nil || string(leaf) != "FRESH" {
					t.Fatalf("leaf appended after the recovery: %q, %v", leaf, err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if _, g := keyFileState(t, dir, "crash"); g != gen {
					t.Fatalf("Open rewrote ledger.keys (generation %d, was %d) with nothing to redo", g, gen)
				}
			}
		})
	}
}

// TestOpenRewritesNoKeys: with no journal lines and every erasure's key step
// done, Open leaves ledger.keys alone, however many erasure records the
// logs hold.
func TestOpenRewritesNoKeys(t *testing.T) {
	dir := t.TempDir()
	day0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: day0.Add(3 * 24 * time.Hour)}
	withClock := func(o *Options) { o.Now = clk.Now }
	l := mustOpen(t, dir, withClock)
	for d := range 3 {
		for _, log := range []string{"kept", "ratcheted", "dropped"} {
			mustAppend(t, l, Entry{Log: log, Time: day0.Add(time.Duration(d) * 24 * time.Hour), Leaf: []byte("x")})
		}
	}
	for _, step := range []func() (int, error){
		func() (int, error) { return l.Erase("ratcheted", day0.Add(24*time.Hour)) },
		func() (int, error) { return l.Erase("ratcheted", day0.Add(2*24*time.Hour)) },
		func() (int, error) { return l.EraseLog("dropped") },
	} {
		if n, err := step(); err != nil || n == 0 {
			t.Fatalf("erase: %d, %v", n, err)
		}
	}
	mustAppend(t, l, Entry{Log: "dropped", Leaf: []byte("y")}) // a live key of the next epoch
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	k, gen := keyFileState(t, dir, "dropped")
	if k.Epoch != 1 || len(k.Key) == 0 {
		t.Fatalf("dropped log's key %+v: want a live key of epoch 1", k)
	}
	if size := fileSize(t, journalOf(dir)); size != 0 {
		t.Fatalf("journal holds %d bytes after Close", size)
	}
	for range 2 {
		l = mustOpen(t, dir, withClock)
		if _, g := keyFileState(t, dir, "dropped"); g != gen {
			t.Fatalf("Open rewrote ledger.keys: generation %d, was %d", g, gen)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnappliedErasure: the last erasure record of the key's epoch decides,
// and only when it is past the key's from_day.
func TestUnappliedErasure(t *testing.T) {
	const max = math.MaxUint32
	type rec struct{ epoch, end uint32 }
	for _, c := range []struct {
		name    string
		recs    []rec
		key     logKey
		wantEnd uint32 // 0: nothing to redo
	}{
		{"none", nil, logKey{Epoch: 1, FromDay: 10}, 0},
		{"applied", []rec{{1, 10}}, logKey{Epoch: 1, FromDay: 10}, 0},
		{"pending", []rec{{1, 10}, {1, 12}}, logKey{Epoch: 1, FromDay: 10}, 12},
		{"last of several", []rec{{1, 11}, {1, 12}, {1, 13}}, logKey{Epoch: 1, FromDay: 10}, 13},
		{"whole log", []rec{{1, 12}, {1, max}}, logKey{Epoch: 1, FromDay: 10}, max},
		{"earlier epoch only", []rec{{0, 5}, {0, max}}, logKey{Epoch: 1, FromDay: 10}, 0},
		{"later epoch ignored", []rec{{1, 10}, {2, 30}, {2, max}}, logKey{Epoch: 1, FromDay: 10}, 0},
		{"between epochs", []rec{{0, max}, {1, 14}, {2, 3}}, logKey{Epoch: 1, FromDay: 10}, 14},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir())
			mustAppend(t, l, Entry{Log: "u", Leaf: []byte("x")})
			err := l.db.Update(func(tx *bolt.Tx) error {
				lb := logBucket(tx, "u")
				eb, err := lb.CreateBucketIfNotExists(bktErased)
				if err != nil {
					return err
				}
				for _, r := range c.recs {
					if err := eb.Put(eraseKey(r.epoch, r.end), make([]byte, 12)); err != nil {
						return err
					}
				}
				r, ok := unappliedErasure("u", lb, c.key)
				gotEnd := uint32(0)
				if ok {
					gotEnd = r.endDay
				}
				if gotEnd != c.wantEnd || ok && (r.log != "u" || r.epoch != c.key.Epoch) {
					t.Errorf("unappliedErasure = %+v, %v; want end day %d", r, ok, c.wantEnd)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
