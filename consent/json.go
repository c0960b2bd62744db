package consent

import (
	"strconv"
	"unicode/utf8"
)

// The leaf bytes and receipt claims are written by hand (see Record.Marshal
// and Receipts.Issue) but must stay byte for byte what encoding/json's
// Marshal wrote before: leaf hashes of existing records depend on it. The
// helpers here reproduce its string and number encoding; the tests compare
// them with json.Marshal on fuzzed input.

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes json.Marshal copies unescaped: everything
// but control characters, '"', '\\' and, as it escapes HTML by default,
// '<', '>' and '&'.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString appends s as a JSON string exactly as json.Marshal does:
// \b \f \n \r \t and \" \\ as short escapes, other control characters and
// < > & as \u00XX, U+2028 and U+2029 as \u2028 and \u2029, and each byte of
// invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

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
