package server

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// rateLimiter is a token bucket per key (an anonymised address), sharded so
// that concurrent consents rarely share a lock. Idle buckets are swept.
type rateLimiter struct {
	rate   float64 // tokens per second
	burst  float64
	now    func() time.Time
	seed   maphash.Seed
	shards [32]limiterShard
	done   chan struct{}
	once   sync.Once
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	l := &rateLimiter{rate: perSecond, burst: math.Max(perSecond, 1), now: now, seed: maphash.MakeSeed(), done: make(chan struct{})}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	go l.sweepLoop()
	return l
}

// allow takes a token for key; when none is left it returns how long until
// the next one.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	now := l.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		sh.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled completely: they hold no state.
func (l *rateLimiter) sweep() {
	now := l.now()
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, b := range sh.buckets {
			if now.Sub(b.last) > full {
				delete(sh.buckets, k)
			}
		}
		sh.mu.Unlock()
	}
}

func (l *rateLimiter) sweepLoop() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.sweep()
		case <-l.done:
			return
		}
	}
}

func (l *rateLimiter) stop() { l.once.Do(func() { close(l.done) }) }

func (l *rateLimiter) size() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].buckets)
		l.shards[i].mu.Unlock()
	}
	return n
}
