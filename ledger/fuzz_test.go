package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden files: a proof made by this package, its verifier key and its
// tlog-proof text. They pin the wire formats: a change that breaks them
// breaks every proof already handed out.
const (
	goldenProof = "testdata/proof.json"
	goldenVkey  = "testdata/proof.vkey"
	goldenTlog  = "testdata/proof.tlog-proof"
)

func writeGolden(t *testing.T) {
	l := mustOpen(t, t.TempDir(), func(o *Options) { o.Host = "crumb.example" })
	var id string
	for i := range 6 {
		a := mustAppend(t, l, Entry{Log: "site-golden", Leaf: leafJSON("site-golden", string(rune('a'+i)))})
		if i == 4 {
			id = a.ID
		}
	}
	waitCheckpoint(t, l, "site-golden", 6)
	p := mustProof(t, l, id)
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("testdata", 0o755)
	for name, content := range map[string]string{
		goldenProof: string(data) + "\n",
		goldenVkey:  l.VerifierKey() + "\n",
		goldenTlog:  p.TlogProof(),
	} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGolden(t testing.TB) (*Proof, note.Verifier, []byte) {
	data, err := os.ReadFile(goldenProof)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(goldenVkey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProof(data)
	if err != nil {
		t.Fatalf("golden proof: %v", err)
	}
	return p, v, data
}

func TestGoldenProof(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	p, v, _ := readGolden(t)
	if err := p.Verify(v); err != nil {
		t.Fatalf("golden proof no longer verifies: %v", err)
	}
	tlogText, err := os.ReadFile(goldenTlog)
	if err != nil {
		t.Fatal(err)
	}
	if p.TlogProof() != string(tlogText) {
		t.Fatalf("TlogProof changed:\n%s\nwant:\n%s", p.TlogProof(), tlogText)
	}
	if p.Index != 4 || p.TreeSize != 6 || p.Site != "site-golden" {
		t.Fatalf("golden proof %+v", p)
	}
}

func FuzzParseProof(f *testing.F) {
	p, v, golden := readGolden(f)
	f.Add(golden)
	compact, _ := json.Marshal(p)
	f.Add(compact)
	erased := *p
	erased.Leaf, erased.Record, erased.ErasedAt = nil, nil, "2025-01-02T03:04:05Z"
	e, _ := json.Marshal(&erased)
	f.Add(e)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","site":"s","index":0,"leaf_hash":"","tree_size":1,"inclusion":[],"checkpoint":"c"}`))
	f.Add([]byte(`{"record":{"a":[1,2,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProof(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal of a parsed proof: %v", err)
		}
		q, err := ParseProof(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		out2, _ := json.Marshal(q)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
		_ = p.Verify(v) // must not panic
		_ = p.TlogProof()
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	p, v, _ := readGolden(f)
	f.Add([]byte(p.Checkpoint))
	f.Add([]byte(strings.Replace(p.Checkpoint, "\n6\n", "\n7\n", 1)))
	f.Add([]byte("crumb.example/sites/x\n1\nAAAA\n\n— crumb.example AAAA\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		origin, size, _, err := ParseCheckpoint(data, v)
		if err != nil {
			return
		}
		if origin == "" || int64(size) < 0 {
			t.Fatalf("accepted origin %q size %d", origin, size)
		}
		// Anything accepted must be signed by v: the golden key only ever
		// signed the golden checkpoint's text.
		if !bytes.HasPrefix(data, []byte(strings.SplitN(p.Checkpoint, "\n\n", 2)[0])) {
			t.Fatalf("accepted a checkpoint the key never signed: %q", data)
		}
	})
}

// TestBackup copies ledger.db while appends run, then opens the copy (with
// the key files) and checks it is a consistent ledger whose proofs verify.
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir)
	ctx := context.Background()
	for range 50 {
		mustAppend(t, l, Entry{Log: "b1", Leaf: []byte("before")})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5000; i++ { // bounded
			select {
			case <-stop:
				return
			default:
			}
			log := []string{"b1", "b2"}[i%2]
			if _, err := l.Append(ctx, Entry{Log: log, ID: newID(), Leaf: []byte("during")}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for l.Size("b2") < 20 {
		<-l.signedRound()
	}
	copyDir := t.TempDir()
	f, err := os.Create(filepath.Join(copyDir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Backup(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	if st, _ := os.Stat(filepath.Join(copyDir, dbFile)); st.Size() != n {
		t.Fatalf("Backup said %d bytes, file has %d", n, st.Size())
	}
	for _, kf := range l.KeyFiles() {
		data, err := os.ReadFile(kf)
		if errors.Is(err, os.ErrNotExist) { // ledger.keys: not before the journal is taken in
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyDir, filepath.Base(kf)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Raw look with bbolt: every log's counters agree with its buckets.
	raw, err := bolt.Open(filepath.Join(copyDir, dbFile), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	idsOf := map[string][]string{}
	err = raw.View(func(tx *bolt.Tx) error {
		for _, log := range []string{"b1", "b2"} {
			lb := logBucket(tx, log)
			size := getU64(lb, keySize)
			if got := lb.Bucket(bktLeaves).Stats().KeyN; uint64(got) != size {
				t.Errorf("%s: %d leaves, size %d", log, got, size)
			}
			if got := lb.Bucket(bktHashes).Stats().KeyN; int64(got) != tlog.StoredHashCount(int64(size)) {
				t.Errorf("%s: %d hashes, want %d", log, got, tlog.StoredHashCount(int64(size)))
			}
		}
		return tx.Bucket(bktIDs).ForEach(func(k, v []byte) error {
			idsOf[string(v[8:])] = append(idsOf[string(v[8:])], string(k))
			return nil
		})
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	b := mustOpen(t, copyDir)
	if b.VerifierKey() != l.VerifierKey() {
		t.Fatal("backup has another key")
	}
	for _, log := range []string{"b1", "b2"} {
		size := b.Size(log)
		if size == 0 || size > l.Size(log) || uint64(len(idsOf[log])) != size {
			t.Fatalf("backup size of %s: %d (live %d, ids %d)", log, size, l.Size(log), len(idsOf[log]))
		}
		count := uint64(0)
		err := b.Leaves(log, 0, func(i uint64, leaf []byte, err error) bool {
			if err != nil || i != count {
				t.Fatalf("backup leaf %d: %v", i, err)
			}
			count++
			return true
		})
		if err != nil || count != size {
			t.Fatalf("backup of %s has %d leaves, size %d: %v", log, count, size, err)
		}
		for _, id := range idsOf[log] {
			if err := mustProof(t, b, id).Verify(b.Verifier()); err != nil {
				t.Fatalf("backup proof: %v", err)
			}
		}
		// The backup's tree is a prefix of the live one.
		cpB := waitCheckpoint(t, b, log, size)
		cpL := waitCheckpoint(t, l, log, l.Size(log))
		pr, err := l.Consistency(ctx, log, size, l.Size(log))
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConsistency(l.Verifier(), cpB, cpL, pr); err != nil {
			t.Fatalf("backup checkpoint not consistent with live: %v", err)
		}
	}
}
