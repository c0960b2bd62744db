package consent

import (
	"errors"
	"strings"
	"testing"
)

// differentialSeeds are bodies on which the one-pass decoder and the
// reference are compared: valid requests and every way of being wrong that
// the reference's behaviour depends on.
var differentialSeeds = func() []string {
	state := `{"necessary":true,"preferences":false,"statistics":false,"marketing":false}`
	ok := `{"site":"s1","url":"https://a.example/","version":"v1","method":"reject_all","state":` + state
	seeds := []string{
		validBody,
		ok + `}`,
		ok + `,"replaces":"AAAAAAAAAAAAAAAAAAAAAA","shared_from":"BBBBBBBBBBBBBBBBBBBBBB","gpc":true,"nonce":"abcdefghijklmnop"}`,
		` ` + "\t\r\n" + ok + " }\n\t ",
		`{"state":{"marketing":true,"statistics":true,"preferences":true,"necessary":true},"method":"accept_all","version":"v","url":"http://x","site":"s"}`,
		// Escapes: in keys, values, surrogates, invalid UTF-8.
		`{"\u0073ite":"s1","url":"https://a.example/\u00e9\ud83d\ude00","version":"v1","method":"reject_all","state":` + state + `}`,
		`{"site":"s1","url":"https://a.example/\ud800x\udc00\ud800\ud800\u0041","version":"v1","method":"reject_all","state":` + state + `}`,
		`{"site":"s1","url":"https://a.example/` + "\xff\xe2\x82\xed\xa0\x80é" + `","version":"v1","method":"reject_all","state":` + state + `}`,
		`{"site":"s1","url":"https://a.example/\"\\\/\b\f\n\r\t","version":"v1","method":"reject_all","state":` + state + `}`,
		`{"site":"s1","url":"https://a.example/\/x\u002Fy","version":"v1","method":"reject_all","state":` + state + `}`,
		`{"site":"s1","url":"https://a.example/","version":"v1","method":"reject_all","state":{"nec\u0065ssary":true,"preferences":false,"statistics":false,"marketing":false}}`,
		`{"site":"s1","site":"s1"}`,
		`{"site":"s1","\u0073ite":"s1"}`,
		`{"s` + "\xff" + `":1}`,
		`{"site":"\u00"}`,
		`{"site":"\uZZZZ"}`,
		`{"site":"\x"}`,
		`{"site":"` + "\x01" + `"}`,
		`{"site":"\`,
		`{"site":"\u12`,
		// Types, numbers, literals.
		`{"site":12}`, `{"site":12`, `{"site":-}`, `{"site":-0}`, `{"site":01}`, `{"site":1.}`, `{"site":1.5e+7,`, `{"site":1e}`, `{"site":1E-}`,
		`{"site":true}`, `{"site":tru}`, `{"site":nul`, `{"site":null}`, `{"site":[1,2]}`, `{"site":{}}`, `{"site":]}`, `{"site":}`, `{"site"::1}`, `{"site",1}`,
		`{"gpc":"true"}`, `{"gpc":truex}`, `{"gpc":true"site":"s"}`, `{"gpc":false}`, `{"gpc":fals}`, `{"gpc":0}`,
		`{"state":null}`, `{"state":[]}`, `{"state":"x"}`, `{"state":"x`, `{"state":5}`, `{"state":{"necessary":{}}}`, `{"state":{"necessary":true,"necessary":true}}`,
		`{"state":{"ads":1}}`, `{"state":{"necessary":tr}}`, `{"state":{}`, `{"state":{},}`, `{"state":{,}}`,
		// Structure.
		``, ` `, `{`, `}`, `[`, `]`, `:`, `,`, `{}`, `{,}`, `{"a"}`, `{"ip"`, `{"ip":`, `{"site"`, `{"site" "x"}`, `{"site":"s",}`, `{"site":"s"]`,
		`{1:2}`, `{'site':1}`, `"abc"`, `"abc`, `123`, `-`, `123abc`, `null`, `nul`, `true`, `[]`, `{}{}`, `{} x`, ok + `}{}`, ok + `}x`, ok + `} 1`,
		ok + `,}`, ok + `,"ip":"1.2.3.4"}`, ok + `,"Method":"x"}`, "\xef\xbb\xbf" + ok + `}`, ok + "}\x00",
	}
	return seeds
}()

// sameResult compares the decoder with the reference on one body.
func sameResult(t *testing.T, data []byte) {
	t.Helper()
	got, gerr := DecodeRequest(data)
	want, werr := decodeRequestRef(data)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: DecodeRequest error %v, reference %v", data, gerr, werr)
	}
	if gerr == nil {
		if got != want {
			t.Fatalf("%q: DecodeRequest\n %+v\nreference\n %+v", data, got, want)
		}
		return
	}
	if !errors.Is(gerr, ErrInvalid) {
		t.Fatalf("%q: error %v does not wrap ErrInvalid", data, gerr)
	}
	// Syntax errors are worded differently; every other error is the same.
	const bad = "invalid consent: bad JSON"
	if strings.HasPrefix(werr.Error(), bad) != strings.HasPrefix(gerr.Error(), bad) ||
		!strings.HasPrefix(werr.Error(), bad) && gerr.Error() != werr.Error() {
		t.Fatalf("%q: error %q, reference %q", data, gerr, werr)
	}
}

func TestDecodeRequestMatchesReference(t *testing.T) {
	for _, s := range differentialSeeds {
		sameResult(t, []byte(s))
	}
}

// FuzzDecodeRequestDifferential: the one-pass decoder accepts and rejects
// what the encoding/json reference does, with equal results and, but for
// the wording of syntax errors, equal errors.
func FuzzDecodeRequestDifferential(f *testing.F) {
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameResult(t, data)
	})
}

func TestDecodeRequestSharedFrom(t *testing.T) {
	body := func(v string) string {
		return `{"site":"s1","url":"https://a.example/","version":"v1","method":"custom","state":{"necessary":true,"preferences":true,"statistics":false,"marketing":false}` + v + `}`
	}
	req, err := DecodeRequest([]byte(body(`,"shared_from":"AAECAwQFBgcICQoLDA0ODw"`)))
	if err != nil || req.SharedFrom != "AAECAwQFBgcICQoLDA0ODw" {
		t.Fatalf("%+v %v", req, err)
	}
	if req, err := DecodeRequest([]byte(body(``))); err != nil || req.SharedFrom != "" {
		t.Fatalf("%+v %v", req, err)
	}
	for name, tc := range map[string]struct{ field, want string }{
		"short":     {`,"shared_from":"AAECAwQF"`, "shared_from must be a consent id"},
		"long":      {`,"shared_from":"AAECAwQFBgcICQoLDA0ODwx"`, "shared_from must be a consent id"},
		"chars":     {`,"shared_from":"AAECAwQFBgcICQoLDA0OD/"`, "shared_from must be a consent id"},
		"number":    {`,"shared_from":5`, "shared_from must be a string"},
		"null":      {`,"shared_from":null`, "shared_from must be a string"},
		"duplicate": {`,"shared_from":"AAECAwQFBgcICQoLDA0ODw","shared_from":"AAECAwQFBgcICQoLDA0ODw"`, `duplicate field "shared_from"`},
	} {
		_, err := DecodeRequest([]byte(body(tc.field)))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// TestDecodeRequestKeepsNoInput: the decoded strings do not alias the body,
// which the caller (Fiber) reuses after the handler.
func TestDecodeRequestKeepsNoInput(t *testing.T) {
	body := []byte(validBody)
	req, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	want := req
	for i := range body {
		body[i] = 'x'
	}
	if req != want || req.Site != "s1" || req.URL != "https://shop.example/a?b=1" {
		t.Fatalf("request changed with the body: %+v", req)
	}
}
