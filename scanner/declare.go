package scanner

import (
	"cmp"
	"net/url"
	"slices"
)

// Service is one provider's cookies and storage keys in one category: a line
// of the site's cookie declaration, and a service the banner can propose.
type Service struct {
	Provider string   `json:"provider"` // "" when the cookies are not known
	Category string   `json:"category"`
	Names    []string `json:"names"` // cookie names and storage keys
	Hosts    []string `json:"hosts"` // hosts of the responses and scripts that set them
}

// Services groups a report's cookies and storage keys by category and
// provider, necessary first, then preferences, statistics, marketing and
// unclassified.
func Services(rep *Report) []Service {
	type key struct{ cat, prov string }
	m := map[key]*Service{}
	add := func(cat, prov, name, initiator string) {
		k := key{cat, prov}
		s := m[k]
		if s == nil {
			s = &Service{Provider: prov, Category: cat, Names: []string{}, Hosts: []string{}}
			m[k] = s
		}
		if !slices.Contains(s.Names, name) {
			s.Names = append(s.Names, name)
		}
		if h := hostname(initiator); h != "" && !slices.Contains(s.Hosts, h) {
			s.Hosts = append(s.Hosts, h)
		}
	}
	for _, c := range rep.Cookies {
		add(c.Category, c.Provider, c.Name, c.Initiator)
	}
	for _, s := range rep.Storage {
		add(s.Category, s.Provider, s.Key, s.Initiator)
	}
	out := make([]Service, 0, len(m))
	for _, s := range m {
		slices.Sort(s.Names)
		slices.Sort(s.Hosts)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Service) int {
		return cmp.Or(cmp.Compare(categoryRank(a.Category), categoryRank(b.Category)), cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

func categoryRank(c string) int {
	switch c {
	case Necessary:
		return 0
	case Preferences:
		return 1
	case Statistics:
		return 2
	case Marketing:
		return 3
	}
	return 4
}

// BlockedHost is a third-party host whose scripts and frames should wait
// for consent to Category.
type BlockedHost struct {
	Host     string `json:"host"`
	Category string `json:"category"`
	Provider string `json:"provider,omitempty"`
}

// BlockHosts lists the third-party hosts a report's pages load from that are
// beyond necessary: hosts on the built-in tracker list, and hosts whose
// responses or scripts set cookies or storage outside necessary (the widget
// holds their scripts and iframes until the category is granted). When
// several categories apply, the strictest wins (marketing over statistics
// over preferences). Unclassified cookies do not decide: the owner confirms
// their category first.
func BlockHosts(rep *Report) []BlockedHost {
	m := map[string]*BlockedHost{}
	raise := func(host, cat, prov string) {
		if host == "" || !ValidCategory(cat) || cat == Necessary {
			return
		}
		b := m[host]
		if b == nil {
			m[host] = &BlockedHost{Host: host, Category: cat, Provider: prov}
			return
		}
		if categoryRank(cat) > categoryRank(b.Category) {
			b.Category, b.Provider = cat, prov
		}
	}
	third := map[string]bool{}
	for _, r := range rep.Requests {
		if u, err := url.Parse(r.URL); err == nil && r.ThirdParty && u.Hostname() != "" {
			third[u.Hostname()] = true
			if t, ok := LookupTracker(u.Hostname()); ok {
				raise(u.Hostname(), t.Category, t.Provider)
			}
		}
	}
	for _, c := range rep.Cookies {
		if h := hostname(c.Initiator); third[h] {
			raise(h, c.Category, c.Provider)
		}
	}
	for _, s := range rep.Storage {
		if h := hostname(s.Initiator); third[h] {
			raise(h, s.Category, s.Provider)
		}
	}
	out := make([]BlockedHost, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b BlockedHost) int { return cmp.Compare(a.Host, b.Host) })
	return out
}

func hostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
