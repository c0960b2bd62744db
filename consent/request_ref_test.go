package consent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeRequestRef is DecodeRequest as it was first written, on
// encoding/json's Decoder.Token, with "shared_from" added. It is the
// reference FuzzDecodeRequestDifferential holds the one-pass decoder to.
func decodeRequestRef(data []byte) (Request, error) {
	if len(data) > MaxBody {
		return Request{}, fmt.Errorf("%w: body over %d bytes", ErrInvalid, MaxBody)
	}
	var req Request
	var have stateSeen
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	seen := map[string]bool{}
	err := decodeObjectRef(dec, "body", func(key string) error {
		if seen[key] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		switch key {
		case "site":
			return decodeScalarRef(dec, key, &req.Site)
		case "url":
			return decodeScalarRef(dec, key, &req.URL)
		case "method":
			return decodeScalarRef(dec, key, &req.Method)
		case "version":
			return decodeScalarRef(dec, key, &req.Version)
		case "replaces":
			return decodeScalarRef(dec, key, &req.Replaces)
		case "nonce":
			return decodeScalarRef(dec, key, &req.Nonce)
		case "shared_from":
			return decodeScalarRef(dec, key, &req.SharedFrom)
		case "gpc":
			return decodeScalarRef(dec, key, &req.GPC)
		case "state":
			return decodeStateRef(dec, &req.State, &have)
		}
		return fmt.Errorf("unknown field %q", key)
	})
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the object")
		}
	}
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	for _, f := range []string{"site", "url", "state", "method", "version"} {
		if !seen[f] {
			return Request{}, fmt.Errorf("%w: missing field %q", ErrInvalid, f)
		}
	}
	if err := req.validate(have); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return req, nil
}

// decodeObjectRef reads one JSON object, calling field for each key with the
// decoder positioned at its value.
func decodeObjectRef(dec *json.Decoder, what string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s must be a JSON object", what)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("bad JSON: object key")
		}
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	return nil
}

// decodeScalarRef reads one JSON string or boolean into dst; any other token
// (null included) is a type error.
func decodeScalarRef[T string | bool](dec *json.Decoder, key string, dst *T) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	v, ok := tok.(T)
	if !ok {
		kind := "a string"
		if _, isBool := any(*dst).(bool); isBool {
			kind = "a boolean"
		}
		return fmt.Errorf("%s must be %s", key, kind)
	}
	*dst = v
	return nil
}

func decodeStateRef(dec *json.Decoder, s *State, have *stateSeen) error {
	return decodeObjectRef(dec, "state", func(key string) error {
		var dst *bool
		var seen *bool
		switch key {
		case stateNecessary:
			dst, seen = &s.Necessary, &have.necessary
		case "preferences":
			dst, seen = &s.Preferences, &have.preferences
		case "statistics":
			dst, seen = &s.Statistics, &have.statistics
		case "marketing":
			dst, seen = &s.Marketing, &have.marketing
		default:
			return fmt.Errorf("unknown state category %q", key)
		}
		if *seen {
			return fmt.Errorf("duplicate state category %q", key)
		}
		*seen = true
		return decodeScalarRef(dec, "state."+key, dst)
	})
}
