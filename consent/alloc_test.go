package consent

import (
	"crypto/sha256"
	"testing"
	"time"
)

// TestHotPathAllocations guards the allocation counts the hand-written code
// was made for (the encoding/json versions made 135, 34 and 2). The bounds
// leave a little room; a return to reflection would break them.
func TestHotPathAllocations(t *testing.T) {
	body := []byte(validBody)
	req, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecord(req, NewID(), "s1", time.Now(), "203.0.113.0", "DE")
	r := NewReceipts(testKey("allocs"))
	lh := sha256.Sum256(rec.Marshal())
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"DecodeRequest", 3, func() { DecodeRequest(body) }},
		{"Record.Marshal", 1, func() { rec.Marshal() }},
		{"Receipts.Issue", 2, func() { r.Issue(rec, 7, lh[:], time.Hour) }},
	} {
		if n := testing.AllocsPerRun(20, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}
