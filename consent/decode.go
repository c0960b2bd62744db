package consent

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The request decoder reads the POST body once, left to right, and decides
// at each byte what encoding/json's Decoder.Token would have decided there:
// DecodeRequest was first written on Token, and the fuzz target
// FuzzDecodeRequestDifferential holds this decoder to that one (kept in
// request_ref_test.go). Two consequences worth knowing:
//
//   - A key is judged (unknown, duplicate) before the ':' after it is read,
//     and a value of the wrong type is reported as soon as its token is
//     complete: {"ip" ... is an unknown field whatever follows, and
//     {"site":12 is a type error even though the object never closes.
//   - A scalar token ends where its grammar ends: {"gpc":truex} reads true
//     and then fails on the 'x'.
//
// Decoded strings go back to back into one buffer (on the stack for usual
// bodies) and become one string at the end, which the Request's fields
// slice: one allocation for all of them, and none that aliases the body.

// Request fields that are strings, as indexes into reqDecoder.spans.
const (
	strSite = iota
	strURL
	strMethod
	strVersion
	strReplaces
	strNonce
	strSharedFrom
	numStrings
)

// Bits of the fields seen so far.
const (
	fieldState = 1 << (numStrings + iota)
	fieldGPC
)

var errEOF = errors.New("bad JSON: unexpected end of input")

// span is a decoded string's place in reqDecoder.buf.
type span struct{ lo, hi int }

type reqDecoder struct {
	data   []byte
	pos    int
	spans  [numStrings]span // of the decoded string values in request's buf
	keyBuf [16]byte         // a decoded object key (longer ones spill to the heap)
}

// request reads the body object and returns the request it names, before
// validation.
func (d *reqDecoder) request() (Request, stateSeen, error) {
	var req Request
	var have stateSeen
	// buf holds the decoded string values back to back. It is a local, not
	// a field of d, so that the compiler can keep it on the stack.
	var scratch [512]byte
	buf := scratch[:0]
	if err := d.openObject("body"); err != nil {
		return req, have, err
	}
	var seen uint
	for more := false; ; more = true {
		key, ok, err := d.nextKey(more)
		if err != nil {
			return req, have, err
		}
		if !ok {
			break
		}
		var bit uint
		str := -1
		switch string(key) {
		case "site":
			str = strSite
		case "url":
			str = strURL
		case "method":
			str = strMethod
		case "version":
			str = strVersion
		case "replaces":
			str = strReplaces
		case "nonce":
			str = strNonce
		case "shared_from":
			str = strSharedFrom
		case "state":
			bit = fieldState
		case "gpc":
			bit = fieldGPC
		default:
			return req, have, fmt.Errorf("unknown field %q", string(key))
		}
		if str >= 0 {
			bit = 1 << str
		}
		if seen&bit != 0 {
			return req, have, fmt.Errorf("duplicate field %q", string(key))
		}
		seen |= bit
		if err := d.colon(); err != nil {
			return req, have, err
		}
		switch {
		case str >= 0:
			buf, err = d.stringValue(requestFieldNames[str], buf, &d.spans[str])
		case bit == fieldGPC:
			err = d.boolValue("gpc", &req.GPC)
		default:
			err = d.state(&req.State, &have)
		}
		if err != nil {
			return req, have, err
		}
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return req, have, errors.New("trailing data after the object")
	}
	for _, f := range requiredFields {
		if seen&f.bit == 0 {
			return req, have, fmt.Errorf("missing field %q", f.name)
		}
	}
	s := string(buf)
	field := func(i int) string { return s[d.spans[i].lo:d.spans[i].hi] }
	req.Site = field(strSite)
	req.URL = field(strURL)
	req.Method = field(strMethod)
	req.Version = field(strVersion)
	req.Replaces = field(strReplaces)
	req.Nonce = field(strNonce)
	req.SharedFrom = field(strSharedFrom)
	return req, have, nil
}

var requestFieldNames = [numStrings]string{
	strSite: "site", strURL: "url", strMethod: "method", strVersion: "version",
	strReplaces: "replaces", strNonce: "nonce", strSharedFrom: "shared_from",
}

// requiredFields in the order their absence is reported.
var requiredFields = [...]struct {
	name string
	bit  uint
}{
	{"site", 1 << strSite}, {"url", 1 << strURL}, {"state", fieldState},
	{"method", 1 << strMethod}, {"version", 1 << strVersion},
}

// state reads the state object.
func (d *reqDecoder) state(s *State, have *stateSeen) error {
	if err := d.openObject("state"); err != nil {
		return err
	}
	for more := false; ; more = true {
		key, ok, err := d.nextKey(more)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		var dst, seen *bool
		var name string
		switch string(key) {
		case stateNecessary:
			dst, seen, name = &s.Necessary, &have.necessary, "state.necessary"
		case "preferences":
			dst, seen, name = &s.Preferences, &have.preferences, "state.preferences"
		case "statistics":
			dst, seen, name = &s.Statistics, &have.statistics, "state.statistics"
		case "marketing":
			dst, seen, name = &s.Marketing, &have.marketing, "state.marketing"
		default:
			return fmt.Errorf("unknown state category %q", string(key))
		}
		if *seen {
			return fmt.Errorf("duplicate state category %q", string(key))
		}
		*seen = true
		if err := d.colon(); err != nil {
			return err
		}
		if err := d.boolValue(name, dst); err != nil {
			return err
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *reqDecoder) skipSpace() {
	for d.pos < len(d.data) && isSpace(d.data[d.pos]) {
		d.pos++
	}
}

func (d *reqDecoder) syntaxError(c byte, context string) error {
	return fmt.Errorf("bad JSON: invalid character %s %s (offset %d)", quoteChar(c), context, d.pos)
}

// valueStart skips white space and returns the byte a value starts with,
// refusing the bytes that end or separate values.
func (d *reqDecoder) valueStart() (byte, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return 0, errEOF
	}
	switch c := d.data[d.pos]; c {
	case '}', ']', ':', ',':
		return 0, d.syntaxError(c, "looking for beginning of value")
	default:
		return c, nil
	}
}

// openObject reads the '{' of an object called what. Any other well-formed
// token is a type error; a malformed one a syntax error.
func (d *reqDecoder) openObject(what string) error {
	c, err := d.valueStart()
	if err != nil {
		return err
	}
	if c == '{' {
		d.pos++
		return nil
	}
	return d.typeError(c, what, "a JSON object")
}

// typeError reports that the value starting with c is not the kind wanted,
// unless the value is malformed: then that is the error.
func (d *reqDecoder) typeError(c byte, name, kind string) error {
	if c != '{' && c != '[' {
		if err := d.skipScalar(c); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s must be %s", name, kind)
}

// nextKey reads up to and including the next key of an open object; ok is
// false when the object ended instead (its '}' is read). more says whether
// a member came before, so that a ',' must come first.
func (d *reqDecoder) nextKey(more bool) (key []byte, ok bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, false, errEOF
	}
	c := d.data[d.pos]
	if c == '}' {
		d.pos++
		return nil, false, nil
	}
	if more {
		if c != ',' {
			return nil, false, d.syntaxError(c, "after object key:value pair")
		}
		d.pos++
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, false, errEOF
		}
		c = d.data[d.pos]
	}
	if c != '"' {
		return nil, false, d.syntaxError(c, "looking for beginning of object key string")
	}
	key, err = d.readString(d.keyBuf[:0], true)
	return key, err == nil, err
}

// colon reads the ':' after a key.
func (d *reqDecoder) colon() error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return errEOF
	}
	if c := d.data[d.pos]; c != ':' {
		return d.syntaxError(c, "after object key")
	}
	d.pos++
	return nil
}

// stringValue appends a string value to buf and records its span there.
func (d *reqDecoder) stringValue(name string, buf []byte, sp *span) ([]byte, error) {
	c, err := d.valueStart()
	if err != nil {
		return buf, err
	}
	if c != '"' {
		return buf, d.typeError(c, name, "a string")
	}
	lo := len(buf)
	if buf, err = d.readString(buf, true); err != nil {
		return buf, err
	}
	*sp = span{lo, len(buf)}
	return buf, nil
}

// boolValue reads true or false into dst.
func (d *reqDecoder) boolValue(name string, dst *bool) error {
	c, err := d.valueStart()
	if err != nil {
		return err
	}
	switch c {
	case 't':
		*dst = true
		return d.literal("true")
	case 'f':
		*dst = false
		return d.literal("false")
	}
	return d.typeError(c, name, "a boolean")
}

// skipScalar reads over the string, number or literal that starts with c.
func (d *reqDecoder) skipScalar(c byte) error {
	switch {
	case c == '"':
		_, err := d.readString(nil, false)
		return err
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	return d.syntaxError(c, "looking for beginning of value")
}

// literal reads the literal lit, which the input must spell out in full.
func (d *reqDecoder) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) {
			return errEOF
		}
		if c := d.data[d.pos]; c != lit[i] {
			return d.syntaxError(c, fmt.Sprintf("in literal %s (expecting %s)", lit, quoteChar(lit[i])))
		}
		d.pos++
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number reads a JSON number; it ends at the first byte that cannot extend
// it, or at the end of the input.
func (d *reqDecoder) number() error {
	data := d.data
	// digits reads one or more digits.
	digits := func() error {
		if d.pos >= len(data) {
			return errEOF
		}
		if !isDigit(data[d.pos]) {
			return d.syntaxError(data[d.pos], "in numeric literal")
		}
		for d.pos < len(data) && isDigit(data[d.pos]) {
			d.pos++
		}
		return nil
	}
	if data[d.pos] == '-' {
		d.pos++
	}
	if d.pos < len(data) && data[d.pos] == '0' {
		d.pos++
	} else if err := digits(); err != nil {
		return err
	}
	if d.pos < len(data) && data[d.pos] == '.' {
		d.pos++
		if err := digits(); err != nil {
			return err
		}
	}
	if d.pos < len(data) && (data[d.pos] == 'e' || data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(data) && (data[d.pos] == '+' || data[d.pos] == '-') {
			d.pos++
		}
		if err := digits(); err != nil {
			return err
		}
	}
	return nil
}

// readString reads the string at d.pos (its opening quote) and, when decode
// is set, appends its decoded text to dst the way encoding/json decodes
// strings: escapes resolved, surrogate pairs joined, lone surrogates and
// each byte of invalid UTF-8 replaced by U+FFFD.
func (d *reqDecoder) readString(dst []byte, decode bool) ([]byte, error) {
	data := d.data
	i := d.pos + 1
	start := i // first byte not yet copied to dst
	for {
		if i >= len(data) {
			d.pos = i
			return dst, errEOF
		}
		c := data[i]
		switch {
		case c == '"':
			if decode {
				dst = append(dst, data[start:i]...)
			}
			d.pos = i + 1
			return dst, nil
		case c < ' ':
			d.pos = i
			return dst, d.syntaxError(c, "in string literal")
		case c == '\\':
			if decode {
				dst = append(dst, data[start:i]...)
			}
			i++
			if i >= len(data) {
				d.pos = i
				return dst, errEOF
			}
			switch e := data[i]; e {
			case '"', '\\', '/':
				dst = appendIf(decode, dst, e)
			case 'b':
				dst = appendIf(decode, dst, '\b')
			case 'f':
				dst = appendIf(decode, dst, '\f')
			case 'n':
				dst = appendIf(decode, dst, '\n')
			case 'r':
				dst = appendIf(decode, dst, '\r')
			case 't':
				dst = appendIf(decode, dst, '\t')
			case 'u':
				for k := i + 1; k <= i+4; k++ {
					if k >= len(data) {
						d.pos = k
						return dst, errEOF
					}
					if hexValue(data[k]) < 0 {
						d.pos = k
						return dst, d.syntaxError(data[k], `in \u hexadecimal character escape`)
					}
				}
				r := getu4(data[i-1:])
				i += 4
				if decode {
					if utf16.IsSurrogate(r) {
						// A pair only if a well-formed \u escape of the
						// other half follows; otherwise U+FFFD, and what
						// follows is read on its own.
						r = utf16.DecodeRune(r, getu4(data[i+1:]))
						if r != utf8.RuneError {
							i += 6
						}
					}
					dst = utf8.AppendRune(dst, r)
				}
			default:
				d.pos = i
				return dst, d.syntaxError(e, "in string escape code")
			}
			i++
			start = i
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				if decode {
					dst = append(dst, data[start:i]...)
					dst = append(dst, "\uFFFD"...)
				}
				start = i + 1
			}
			i += size
		}
	}
}

func appendIf(ok bool, dst []byte, c byte) []byte {
	if ok {
		return append(dst, c)
	}
	return dst
}

func hexValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// getu4 decodes the \uXXXX escape at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		v := hexValue(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}
