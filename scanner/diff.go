package scanner

import (
	"cmp"
	"net/url"
	"slices"
	"time"
)

// Diff is what changed between two reports of a site.
type Diff struct {
	New     []Cookie       `json:"new"`     // in the new report only
	Gone    []Cookie       `json:"gone"`    // in the old report only
	Changed []CookieChange `json:"changed"` // in both, with different facts
}

// CookieChange is a cookie present in both reports whose facts differ.
type CookieChange struct {
	Old    Cookie   `json:"old"`
	New    Cookie   `json:"new"`
	Fields []string `json:"fields"` // JSON names of what differs
}

// Compare returns the difference from old to new. Cookies are matched by
// name, domain and path. Compared: category and source, the attributes,
// party, how and from which host it was set, the consent flags, and the
// lifetime (session or how many days from the scan, so that the same
// cookie seen a month later is not "changed" by its expiry date alone).
// A nil report counts as empty.
func Compare(old, new *Report) Diff {
	key := func(c Cookie) cookieKey { return cookieKey{c.Name, c.Domain, c.Path} }
	index := func(r *Report) map[cookieKey]Cookie {
		m := map[cookieKey]Cookie{}
		if r != nil {
			for _, c := range r.Cookies {
				m[key(c)] = c
			}
		}
		return m
	}
	om, nm := index(old), index(new)
	d := Diff{New: []Cookie{}, Gone: []Cookie{}, Changed: []CookieChange{}}
	for k, n := range nm {
		o, ok := om[k]
		if !ok {
			d.New = append(d.New, n)
			continue
		}
		if fields := changedFields(old, new, o, n); len(fields) > 0 {
			d.Changed = append(d.Changed, CookieChange{Old: o, New: n, Fields: fields})
		}
	}
	for k, o := range om {
		if _, ok := nm[k]; !ok {
			d.Gone = append(d.Gone, o)
		}
	}
	byKey := func(a, b Cookie) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Path, b.Path))
	}
	slices.SortFunc(d.New, byKey)
	slices.SortFunc(d.Gone, byKey)
	slices.SortFunc(d.Changed, func(a, b CookieChange) int { return byKey(a.New, b.New) })
	return d
}

func changedFields(or, nr *Report, o, n Cookie) []string {
	var f []string
	add := func(changed bool, name string) {
		if changed {
			f = append(f, name)
		}
	}
	add(o.Category != n.Category, "category")
	add(o.Source != n.Source, "source")
	add(lifetimeDays(or, o) != lifetimeDays(nr, n), "expires")
	add(o.Secure != n.Secure, "secure")
	add(o.HTTPOnly != n.HTTPOnly, "http_only")
	add(o.SameSite != n.SameSite, "same_site")
	add(o.ThirdParty != n.ThirdParty, "third_party")
	add(o.SetBy != n.SetBy, "set_by")
	add(hostOf(o.Initiator) != hostOf(n.Initiator), "initiator")
	add(o.BeforeConsent != n.BeforeConsent, "before_consent")
	add(o.AfterReject != n.AfterReject, "after_reject")
	return f
}

// lifetimeDays is -1 for a session cookie, else the whole days from the
// scan's start to the expiry.
func lifetimeDays(r *Report, c Cookie) int {
	if c.Expires == "" {
		return -1
	}
	t, err := time.Parse(time.RFC3339, c.Expires)
	if err != nil || r == nil {
		return -2
	}
	return int(t.Sub(r.Started).Round(24*time.Hour).Hours() / 24)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
