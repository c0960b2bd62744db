package consent

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(validBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueReceipt(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r := NewReceipts(key)
	req, _ := DecodeRequest([]byte(validBody))
	rec := NewRecord(req, "s1", time.Now(), "203.0.113.0", "")
	lh := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Issue(rec, 7, lh, 365*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 300)
	for b.Loop() {
		ed25519.Sign(key, msg)
	}
}

func BenchmarkNewRecordMarshal(b *testing.B) {
	req, _ := DecodeRequest([]byte(validBody))
	b.ReportAllocs()
	for b.Loop() {
		NewRecord(req, "s1", time.Now(), "203.0.113.0", "").Marshal()
	}
}
