package server

import (
	"encoding/json"
	"testing"

	"github.com/crumb-consent/crumb/ledger"
)

func TestAppendConsentResponseMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []consentResponse{
		{ID: "AAAAAAAAAAAAAAAAAAAAAA", Index: 0, Receipt: "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJ4In0.c2ln"},
		{ID: "-_09azAZ", Index: 1<<64 - 1, Receipt: "a.b.c"},
	} {
		want, err := json.Marshal(tc)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendConsentResponse(nil, tc.ID, tc.Index, tc.Receipt); string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestAppendProofJSONMatchesEncodingJSON(t *testing.T) {
	cp := "crumb.test/sites/abc\n3\nq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=\n\n— crumb.test AAAA+/==\n"
	leaf := []byte(`{"id":"AAAAAAAAAAAAAAAAAAAAAA","site":"abc","url":"https://shop.example/?q=\u003cb\u003e"}`)
	for _, tc := range []struct {
		name string
		p    ledger.Proof
	}{
		{"consent", ledger.Proof{ID: "AAAAAAAAAAAAAAAAAAAAAA", Site: "abc", Index: 2, Leaf: leaf, LeafHash: make([]byte, 32),
			Record: leaf, TreeSize: 3, Inclusion: [][]byte{make([]byte, 32), {1, 2, 3}}, Checkpoint: cp}},
		{"erased", ledger.Proof{ID: "x", Site: "abc/scans", Index: 0, LeafHash: []byte{9}, ErasedAt: "2026-01-01T00:00:00Z",
			TreeSize: 1, Inclusion: [][]byte{}, Checkpoint: cp}},
		{"record to compact and escape", ledger.Proof{ID: "y", Leaf: []byte("x"), Record: []byte(` { "a" : "<&>\u2028" , "b": [1, 2] } `)}},
		{"not JSON leaf", ledger.Proof{ID: "z", Leaf: []byte("not json"), Inclusion: nil}},
	} {
		want, err := json.Marshal(&tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendProofJSON(nil, &tc.p); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}
