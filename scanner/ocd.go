package scanner

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxOpenCookieDatabaseBytes bounds what ParseOpenCookieDatabase reads.
const MaxOpenCookieDatabaseBytes = 32 << 20

// ParseOpenCookieDatabase reads the CSV format of the Open Cookie Database
// (github.com/jkwakman/Open-Cookie-Database): a header row naming at least the
// columns "Category", "Cookie / Data Key name" and "Wildcard match" (in any
// order; "Platform", "Description", "Retention period" and "Domain" are used
// when present), then one row per cookie.
//
// Categories map to Crumb's: Functional, Security and Necessary → necessary;
// Personalization → preferences; Analytics → statistics; Marketing →
// marketing. A "Wildcard match" of 1 makes the name a prefix. The quirks of
// the data are handled so:
//
//   - rows with an unknown category or an empty name are skipped;
//   - a name listed twice keeps its first row;
//   - a prefix shorter than 3 characters ("_s", "tp") is treated as an exact
//     name, so it cannot swallow unrelated cookies;
//   - a name with one "*" (a few rows have them) is a pattern as written;
//   - the free-text Domain column is kept as text in Purpose, never used for
//     matching.
//
// The result is for Classifier.Add. Malformed CSV (or a missing header
// column) fails with ErrBadCSV; nothing is returned then.
func ParseOpenCookieDatabase(r io.Reader) ([]Definition, error) {
	lr := &io.LimitedReader{R: r, N: MaxOpenCookieDatabaseBytes + 1}
	br := bufio.NewReader(lr)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrBadCSV)
		}
		return nil, fmt.Errorf("%w: header: %v", ErrBadCSV, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	need := func(name string) (int, error) {
		i, ok := col[name]
		if !ok {
			return 0, fmt.Errorf("%w: no %q column", ErrBadCSV, name)
		}
		return i, nil
	}
	iCat, err := need("category")
	if err != nil {
		return nil, err
	}
	iName, err := need("cookie / data key name")
	if err != nil {
		return nil, err
	}
	iWild, err := need("wildcard match")
	if err != nil {
		return nil, err
	}
	opt := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	iPlat, iDesc, iRet, iDom := opt("platform"), opt("description"), opt("retention period"), opt("domain")

	var defs []Definition
	seen := map[string]bool{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadCSV, line, err)
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadCSV, MaxOpenCookieDatabaseBytes)
		}
		field := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			s := strings.TrimSpace(rec[i])
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
			}
			return s
		}
		cat, ok := ocdCategory(field(iCat))
		name := field(iName)
		if !ok || name == "" || len(name) > 256 || strings.ContainsAny(name, ";=,\t\r\n") || strings.Count(name, "*") > 1 {
			continue
		}
		if strings.Contains(name, "*") {
			if literalLen(name) < 3 {
				continue // a pattern this short would swallow unrelated names
			}
		} else if field(iWild) == "1" && len(name) >= 3 {
			name += "*"
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		purpose := field(iDesc)
		if d := field(iDom); d != "" {
			purpose = strings.TrimSpace(purpose + " (domain: " + d + ")")
		}
		defs = append(defs, Definition{
			Name:     name,
			Category: cat,
			Provider: clip(field(iPlat), 200),
			Purpose:  clip(purpose, 1000),
			Lifetime: clip(field(iRet), 100),
			Source:   SourceOpenDB,
		})
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadCSV, MaxOpenCookieDatabaseBytes)
	}
	return defs, nil
}

func ocdCategory(c string) (string, bool) {
	switch strings.ToLower(c) {
	case "functional", "security", "necessary":
		return Necessary, true
	case "personalization", "personalisation", "preferences":
		return Preferences, true
	case "analytics", "statistics":
		return Statistics, true
	case "marketing":
		return Marketing, true
	}
	return "", false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
