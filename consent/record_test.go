package consent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recordV1 is the record as it was before shared_from: its json.Marshal
// bytes are the leaves already in the logs.
type recordV1 struct {
	ID       string `json:"id"`
	Site     string `json:"site"`
	Time     string `json:"time"`
	IP       string `json:"ip"`
	URL      string `json:"url"`
	State    State  `json:"state"`
	Method   string `json:"method"`
	Version  string `json:"version"`
	Country  string `json:"country"`
	GPC      bool   `json:"gpc"`
	Replaces string `json:"replaces"`
	Salt     string `json:"salt"`
}

func tricky(s string) []string {
	return []string{s, "", "<script>&amp;</script>", "\u2028\u2029", "a\xffb\xe2\x82c\xed\xa0\x80", "\x00\x01\b\f\n\r\t\x1f\x7f\"\\/", "é✓𝄞\uFFFD", strings.Repeat("x", 3000)}
}

func recordCases() []Record {
	base := Record{ID: "AAECAwQFBgcICQoLDA0ODw", Site: "s1", Time: "2026-03-04T05:06:07Z", IP: "203.0.113.0", URL: "https://shop.example/a?b=1&c=<2>",
		State: State{Necessary: true, Statistics: true}, Method: "custom", Version: "v1", Country: "DE", Salt: "c2FsdHNhbHRzYWx0c2FsdA=="}
	var out []Record
	for i, s := range tricky("ok") {
		r := base
		switch i % 4 {
		case 0:
			r.URL, r.SharedFrom = s, s
		case 1:
			r.Site, r.Replaces = s, s
		case 2:
			r.Version, r.Country, r.GPC = s, s, true
		case 3:
			r.ID, r.Time, r.IP, r.Method, r.Salt, r.State = s, s, s, s, s, State{true, true, true, true}
		}
		out = append(out, r)
	}
	return out
}

func TestRecordMarshalMatchesJSON(t *testing.T) {
	for _, r := range recordCases() {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Marshal(); !bytes.Equal(got, want) {
			t.Errorf("Marshal\n got %s\nwant %s", got, want)
		}
	}
}

// TestRecordSharedFrom: the new field comes last and only when set, so a
// record without it has the bytes of a record written before it existed.
func TestRecordSharedFrom(t *testing.T) {
	for _, r := range recordCases() {
		r.SharedFrom = ""
		old, _ := json.Marshal(recordV1{r.ID, r.Site, r.Time, r.IP, r.URL, r.State, r.Method, r.Version, r.Country, r.GPC, r.Replaces, r.Salt})
		if got := r.Marshal(); !bytes.Equal(got, old) {
			t.Errorf("a record without shared_from changed bytes\n got %s\nwant %s", got, old)
		}
	}
	r := recordCases()[1]
	r.SharedFrom = "CCECAwQFBgcICQoLDA0ODw"
	leaf := r.Marshal()
	if !bytes.HasSuffix(leaf, []byte(`,"salt":"c2FsdHNhbHRzYWx0c2FsdA==","shared_from":"CCECAwQFBgcICQoLDA0ODw"}`)) {
		t.Errorf("shared_from is not last: %s", leaf)
	}
	back, err := ParseRecord(leaf)
	if err != nil || back != r {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

// TestRecordGoldenLeaf: a leaf as the first version wrote it parses and
// marshals back to the same bytes (testdata/leaf-v1.json, never updated).
func TestRecordGoldenLeaf(t *testing.T) {
	leaf, err := os.ReadFile(filepath.Join("testdata", "leaf-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	leaf = bytes.TrimSuffix(leaf, []byte("\n"))
	r, err := ParseRecord(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if r.SharedFrom != "" || r.Method != MethodWithdraw || r.Replaces == "" {
		t.Fatalf("parsed %+v", r)
	}
	if got := r.Marshal(); !bytes.Equal(got, leaf) {
		t.Fatalf("leaf changed\n got %s\nwant %s", got, leaf)
	}
}

func TestNewRecord(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"site":"s1","url":"https://a.example/","version":"v1","method":"gpc","shared_from":"CCECAwQFBgcICQoLDA0ODw","state":{"necessary":true,"preferences":true,"statistics":false,"marketing":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -3600))
	a := NewRecord(req, "AAECAwQFBgcICQoLDA0ODw", "s1", now, "203.0.113.0", "FR")
	b := NewRecord(req, "AAECAwQFBgcICQoLDA0ODw", "s1", now, "203.0.113.0", "FR")
	if a.ID != "AAECAwQFBgcICQoLDA0ODw" || a.Site != "s1" || a.Time != "2026-01-02T04:04:05Z" || a.SharedFrom != req.SharedFrom || !a.GPC || a.Country != "FR" || a.URL != req.URL {
		t.Fatalf("record %+v", a)
	}
	salt, err := base64.StdEncoding.DecodeString(a.Salt)
	if err != nil || len(salt) != saltBytes {
		t.Fatalf("salt %q: %v", a.Salt, err)
	}
	if a.Salt == b.Salt {
		t.Fatalf("two records share the salt %q", a.Salt)
	}
	id, err := base64.RawURLEncoding.DecodeString(NewID())
	if err != nil || len(id) != idBytes {
		t.Fatalf("NewID: %x, %v", id, err)
	}
}

// FuzzRecordMarshal holds the hand-written Marshal to json.Marshal.
func FuzzRecordMarshal(f *testing.F) {
	for _, r := range recordCases() {
		f.Add(r.ID, r.Site, r.Time, r.URL, r.Version, r.Replaces, r.SharedFrom, uint8(5))
	}
	f.Fuzz(func(t *testing.T, id, site, at, u, version, replaces, sharedFrom string, bits uint8) {
		r := Record{ID: id, Site: site, Time: at, IP: sharedFrom, URL: u, Method: replaces, Version: version,
			Country: site, GPC: bits&16 != 0, Replaces: replaces, Salt: id, SharedFrom: sharedFrom,
			State: State{bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0}}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Marshal(); !bytes.Equal(got, want) {
			t.Fatalf("Marshal\n got %s\nwant %s", got, want)
		}
	})
}
