package widget

import (
	"strings"
	"testing"
)

func TestParseAcceptLanguage(t *testing.T) {
	tests := []struct {
		h    string
		want string
	}{
		{"", ""},
		{"de", "de"},
		{"de-AT,de;q=0.9,en;q=0.8", "de,en"},
		{"en;q=0.5, fr-CA;q=0.9, *;q=0.1", "fr,en"},
		{"fr;q=0, en", "en"},
		{"en_US", "en"},
		{"EN-gb", "en"},
		{"iw, in", "he,id"},
		{"zh-Hant-TW;q=0.8, ja;q=0.8, ko", "ko,zh,ja"},
		{"de;q=1.5, en;q=abc, fr;q=", ""},
		{"de;q=0.7;level=1, en;foo=bar", "en,de"},
		{";;;,,,=,q=1,1234,d3", ""},
		{"a, abcd, de, x-klingon, i-navajo", "de"},
		{"bg,cs,da,de,el,en,es,et,fi,fr", "bg,cs,da,de,el,en,es,et"},
		{strings.Repeat("de,", 5000) + "en", "de"},
	}
	for _, tt := range tests {
		got := strings.Join(ParseAcceptLanguage(tt.h), ",")
		if got != tt.want {
			t.Errorf("ParseAcceptLanguage(%.40q) = %q, want %q", tt.h, got, tt.want)
		}
	}
}

func FuzzParseAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "de-AT,de;q=0.9,en;q=0.8", "*", "en;q=0", "fr;q=0.5;q=1", "\xff\xfe", "zh-Hant-TW;q=0.8, ja"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		langs := ParseAcceptLanguage(h)
		if len(langs) > maxAcceptLanguages {
			t.Fatalf("%d languages", len(langs))
		}
		seen := map[string]bool{}
		for _, l := range langs {
			if !IsLanguage(l) {
				t.Fatalf("%q is not a primary language tag", l)
			}
			if seen[l] {
				t.Fatalf("%q twice", l)
			}
			seen[l] = true
		}
	})
}
