package widget

import (
	"sort"
	"strconv"
	"strings"
)

const (
	maxAcceptLanguages = 8    // languages ParseAcceptLanguage returns at most
	maxAcceptHeader    = 4096 // bytes of the header it reads
	maxAcceptEntries   = 64   // entries of the header it reads
)

// deprecated maps withdrawn ISO 639 codes that old browsers still send.
var deprecated = map[string]string{"iw": "he", "in": "id", "ji": "yi"}

// ParseAcceptLanguage returns the primary language tags of an Accept-Language header,
// best first (by q, then by order), without duplicates, at most 8. "de-AT;q=0.8" gives
// "de"; "*", entries with q=0 and junk are skipped. Only the first 4 KiB and 64 entries of
// the header are read.
func ParseAcceptLanguage(h string) []string {
	if len(h) > maxAcceptHeader {
		h = h[:maxAcceptHeader]
	}
	type entry struct {
		tag string
		q   float64
	}
	var entries []entry
	for n := 0; h != "" && n < maxAcceptEntries; n++ {
		var part string
		part, h, _ = strings.Cut(h, ",")
		tag, params, _ := strings.Cut(part, ";")
		primary := strings.ToLower(strings.TrimSpace(tag))
		if i := strings.IndexAny(primary, "-_"); i >= 0 {
			primary = primary[:i]
		}
		if !IsLanguage(primary) {
			continue
		}
		if d, ok := deprecated[primary]; ok {
			primary = d
		}
		q, ok := parseQ(params)
		if !ok || q == 0 {
			continue
		}
		entries = append(entries, entry{primary, q})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].q > entries[j].q })
	var out []string
	for _, e := range entries {
		if len(out) == maxAcceptLanguages {
			break
		}
		if !contains(out, e.tag) {
			out = append(out, e.tag)
		}
	}
	return out
}

// parseQ reads the q parameter of one Accept-Language entry; 1 when absent.
func parseQ(params string) (float64, bool) {
	q := 1.0
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if strings.TrimSpace(k) != "q" {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, false
		}
		q = f
	}
	return q, true
}
