package consent

import (
	"strconv"

	"github.com/crumb-consent/crumb/internal/jsonenc"
)

// The leaf bytes and receipt claims are written by hand (see Record.Marshal
// and Receipts.Issue) but must stay byte for byte what encoding/json's
// Marshal wrote before: leaf hashes of existing records depend on it.
// Strings go through jsonenc.AppendString; the tests compare the results
// with json.Marshal on fuzzed input.

// appendJSONString appends s as json.Marshal encodes a string.
func appendJSONString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s) }

// appendJSONBool appends true or false.
func appendJSONBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendJSONState appends a State as json.Marshal writes it.
func appendJSONState(dst []byte, s State) []byte {
	dst = append(dst, `{"necessary":`...)
	dst = appendJSONBool(dst, s.Necessary)
	dst = append(dst, `,"preferences":`...)
	dst = appendJSONBool(dst, s.Preferences)
	dst = append(dst, `,"statistics":`...)
	dst = appendJSONBool(dst, s.Statistics)
	dst = append(dst, `,"marketing":`...)
	dst = appendJSONBool(dst, s.Marketing)
	return append(dst, '}')
}

// quoteChar formats c for a syntax error message the way encoding/json does.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}
