package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/crumb-consent/crumb/ledger"
	"golang.org/x/mod/sumdb/note"
)

// Append a record, fetch its proof and check it the way an auditor does:
// offline, with nothing but the proof JSON and the log's verifier key.
func Example_appendAndProve() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	l, err := ledger.Open(ledger.Options{Dir: dir, Host: "crumb.example"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	ctx := context.Background()
	a, err := l.Append(ctx, ledger.Entry{
		Log:   "site1",
		ID:    "c0ns3nt-1d",
		Nonce: "client-nonce-0123456789",
		Leaf:  []byte(`{"id":"c0ns3nt-1d","site":"site1","method":"accept_all"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("index", a.Index)

	// Proof waits for the checkpoint that covers the new leaf.
	p, err := l.Proof(ctx, a.ID)
	if err != nil {
		log.Fatal(err)
	}
	proofJSON, _ := json.Marshal(p) // what GET /v1/proof/{id} serves
	vkey := l.VerifierKey()         // what GET /v1/log-key serves

	// The auditor's side.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		log.Fatal(err)
	}
	q, err := ledger.ParseProof(proofJSON)
	if err != nil {
		log.Fatal(err)
	}
	if err := q.Verify(v); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified %s at index %d of a tree of %d\n", q.ID, q.Index, q.TreeSize)

	// A repeated nonce gives back the first consent, no second leaf.
	again, err := l.Append(ctx, ledger.Entry{Log: "site1", ID: "another-id", Nonce: "client-nonce-0123456789", Leaf: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("duplicate", again.Duplicate, again.ID, l.Size("site1"))
	// Output:
	// index 0
	// verified c0ns3nt-1d at index 0 of a tree of 1
	// duplicate true c0ns3nt-1d 1
}

// Erase a whole log: the records are gone, their proofs still hold.
func ExampleLedger_EraseLog() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := ledger.Open(ledger.Options{Dir: dir, Host: "crumb.example"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Append(ctx, ledger.Entry{Log: "site2", ID: "rec-1", Leaf: []byte(`{"n":1}`)}); err != nil {
		log.Fatal(err)
	}
	n, err := l.EraseLog("site2")
	if err != nil {
		log.Fatal(err)
	}
	p, err := l.Proof(ctx, "rec-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("erased", n, "leaf", p.Leaf == nil, "erased_at set", p.ErasedAt != "", "verifies", p.Verify(l.Verifier()) == nil)
	// Output:
	// erased 1 leaf true erased_at set true verifies true
}

// Ids from NewID look random (128 bits, base64url) but cost less to
// append than random ones: the ledger indexes them by sequence number.
func ExampleLedger_NewID() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := ledger.Open(ledger.Options{Dir: dir, Host: "crumb.example"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	id := l.NewID() // put it in the record too: the leaf is what gets proved
	leaf := []byte(`{"id":"` + id + `","method":"reject_all"}`)
	if _, err := l.Append(context.Background(), ledger.Entry{Log: "site3", ID: id, Nonce: "nonce-from-the-widget-0001", Leaf: leaf}); err != nil {
		log.Fatal(err)
	}
	site, index, err := l.Locate(id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(id), site, index)
	// Output:
	// 22 site3 0
}
