package scanner

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"github.com/temoto/robotstxt"
)

// robotsCache answers robots.txt questions for the chrome engine (colly
// checks robots.txt itself). A robots.txt that cannot be fetched allows
// everything, as crawlers conventionally do; a 5xx answer disallows
// everything (robotstxt.FromStatusAndBytes).
type robotsCache struct {
	client  *http.Client
	ua      string
	maxBody int64

	mu    sync.Mutex
	hosts map[string]*robotsEntry
}

type robotsEntry struct {
	once  sync.Once
	group *robotstxt.Group
}

func newRobotsCache(client *http.Client, ua string, maxBody int64) *robotsCache {
	return &robotsCache{client: client, ua: ua, maxBody: maxBody, hosts: map[string]*robotsEntry{}}
}

func (r *robotsCache) allowed(ctx context.Context, u *url.URL) bool {
	key := u.Scheme + "://" + u.Host
	r.mu.Lock()
	e := r.hosts[key]
	if e == nil {
		e = &robotsEntry{}
		r.hosts[key] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		body, status, err := fetch(ctx, r.client, key+"/robots.txt", r.ua, r.maxBody)
		if err != nil {
			return
		}
		if data, err := robotstxt.FromStatusAndBytes(status, body); err == nil {
			e.group = data.FindGroup(r.ua)
		}
	})
	if e.group == nil {
		return true
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return e.group.Test(p)
}
