package jsonenc

import (
	"encoding/json"
	"testing"
)

var cases = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "line\nbreak\r\ttab\b\f\x00\x1f\x7f",
	"ünïcödé — 世界 🍪", "\u2028\u2029", "bad \xff\xfe utf-8 \xe2\x80", "crumb.test/sites/x\n42\nAAAA=\n\n— crumb.test abc=\n",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
			t.Errorf("%q: got %s, want %s", s, got[6:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
