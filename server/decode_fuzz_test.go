package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeStrict holds decodeStrict to its promise on any body: it never
// panics; what it accepts, encoding/json decodes to the same value; and it
// refuses every body that repeats a top-level key or names one that is not
// a field, whatever the case.
//
//	go test ./server -run '^$' -fuzz FuzzDecodeStrict -fuzztime 1m
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"receipt":"a.b.c"}`, `{"receipt":"x","receipt":"y"}`, `{"Receipt":"x"}`, `{"receipt":"\u0078"}`,
		`{"receipt":{"a":1,"a":2}}`, `[]`, `null`, `{}`, `{"receipt":"x"} {}`, `{"receipt":[{"b":1},{"b":1}]}`,
		`{"\u0072eceipt":"x","receipt":"y"}`, strings.Repeat("[", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got receiptRequest
		err := decodeStrict(body, &got)
		if err != nil {
			return
		}
		var want receiptRequest
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("decodeStrict accepted %q, encoding/json refuses it: %v", body, err)
		}
		if got != want {
			t.Fatalf("decodeStrict(%q) = %+v, encoding/json %+v", body, got, want)
		}
		keys := topLevelKeys(body)
		for i, k := range keys {
			if k != "receipt" || i > 0 {
				t.Fatalf("decodeStrict accepted the keys %q of %q", keys, body)
			}
		}
	})
}

// topLevelKeys lists the keys of body's top-level object as written, repeats
// included (nil if body does not start with an object).
func topLevelKeys(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}
