package consent

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// newRecordRef is NewRecord as it was first written (two reads from the
// random source) and marshalRef is Record.Marshal as it was (json.Marshal):
// the references the benchmarks compare with.
func newRecordRef(req Request, id, site string, now time.Time, anonIP, country string) Record {
	var salt [16]byte
	rand.Read(salt[:])
	return Record{
		ID:         id,
		Site:       site,
		Time:       now.UTC().Format(time.RFC3339),
		IP:         anonIP,
		URL:        req.URL,
		State:      req.State,
		Method:     req.Method,
		Version:    req.Version,
		Country:    country,
		GPC:        req.GPC,
		Replaces:   req.Replaces,
		Salt:       base64.StdEncoding.EncodeToString(salt[:]),
		SharedFrom: req.SharedFrom,
	}
}

func marshalRef(r Record) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic("consent: marshal record: " + err.Error())
	}
	return b
}
