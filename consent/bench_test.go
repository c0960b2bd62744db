package consent

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

// Each benchmark of the package's hot path has a ...Reference twin running
// the implementation it replaced (kept in the _ref_test.go files), so that
// one run on a busy machine compares the two under the same load:
//
//	go test -run XXX -bench . -benchmem ./consent

func BenchmarkDecodeRequest(b *testing.B) {
	benchDecode(b, DecodeRequest)
}

func BenchmarkDecodeRequestReference(b *testing.B) {
	benchDecode(b, decodeRequestRef)
}

func benchDecode(b *testing.B, decode func([]byte) (Request, error)) {
	body := []byte(validBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueReceipt(b *testing.B) {
	benchIssue(b, (*Receipts).Issue)
}

func BenchmarkIssueReceiptReference(b *testing.B) {
	benchIssue(b, (*Receipts).issueRef)
}

func benchIssue(b *testing.B, issue func(*Receipts, Record, uint64, []byte, time.Duration) (string, error)) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r := NewReceipts(key)
	req, _ := DecodeRequest([]byte(validBody))
	rec := NewRecord(req, NewID(), "s1", time.Now(), "203.0.113.0", "")
	lh := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := issue(r, rec, 7, lh, 365*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Sign is the floor under IssueReceipt: the signature the
// contract requires.
func BenchmarkEd25519Sign(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 300)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(key, msg)
	}
}

func BenchmarkNewRecordMarshal(b *testing.B) {
	benchNewRecord(b, NewRecord, Record.Marshal)
}

func BenchmarkNewRecordMarshalReference(b *testing.B) {
	benchNewRecord(b, newRecordRef, marshalRef)
}

func benchNewRecord(b *testing.B, newRecord func(Request, string, string, time.Time, string, string) Record, marshal func(Record) []byte) {
	req, _ := DecodeRequest([]byte(validBody))
	b.ReportAllocs()
	for b.Loop() {
		marshal(newRecord(req, NewID(), "s1", time.Now(), "203.0.113.0", ""))
	}
}

func BenchmarkRecordMarshal(b *testing.B) {
	benchMarshal(b, func(r Record) []byte { return r.Marshal() })
}

func BenchmarkRecordMarshalReference(b *testing.B) {
	benchMarshal(b, marshalRef)
}

func benchMarshal(b *testing.B, marshal func(Record) []byte) {
	req, _ := DecodeRequest([]byte(validBody))
	rec := NewRecord(req, NewID(), "s1", time.Now(), "203.0.113.0", "DE")
	b.ReportAllocs()
	for b.Loop() {
		marshal(rec)
	}
}

// BenchmarkConsentPath is this package's share of one POST /v1/consent:
// decode, record, leaf bytes, receipt (the ledger append in between is not
// here).
func BenchmarkConsentPath(b *testing.B) {
	benchPath(b, DecodeRequest, NewRecord, Record.Marshal, (*Receipts).Issue)
}

func BenchmarkConsentPathReference(b *testing.B) {
	benchPath(b, decodeRequestRef, newRecordRef, marshalRef, (*Receipts).issueRef)
}

func benchPath(b *testing.B, decode func([]byte) (Request, error),
	newRecord func(Request, string, string, time.Time, string, string) Record, marshal func(Record) []byte,
	issue func(*Receipts, Record, uint64, []byte, time.Duration) (string, error)) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r := NewReceipts(key)
	body := []byte(validBody)
	lh := make([]byte, 32)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		req, err := decode(body)
		if err != nil {
			b.Fatal(err)
		}
		rec := newRecord(req, NewID(), req.Site, now, "203.0.113.0", "DE")
		marshal(rec)
		if _, err := issue(r, rec, 7, lh, 365*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
