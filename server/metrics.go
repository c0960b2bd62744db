package server

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series. Each server has its own
// registry, so that tests can run several servers in one process.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	consents  *prometheus.CounterVec
	batchSize prometheus.Histogram
	commit    prometheus.Histogram
	handler   fiber.Handler
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crumb_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		consents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crumb_consents_total", Help: "Consents appended to the ledger, by method; duplicates are nonce replays answered with the first consent.",
		}, []string{"method", "result"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crumb_ledger_batch_size", Help: "Appends per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crumb_ledger_commit_seconds", Help: "Duration of a group commit including fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
	}
	m.registry.MustRegister(m.requests, m.consents, m.batchSize, m.commit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return m
}

// ObserveCommit is the ledger's OnCommit hook.
func (s *Server) ObserveCommit(batch int, d time.Duration) {
	s.metrics.batchSize.Observe(float64(batch))
	s.metrics.commit.Observe(d.Seconds())
}

// observe counts every request by its route pattern (not its path, so that
// ids do not become label values) and status.
func (s *Server) observe(c *fiber.Ctx) error {
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status, _, _ = statusOf(err)
	}
	s.metrics.requests.WithLabelValues(c.Route().Path, strconv.Itoa(status)).Inc()
	return err
}

// handleMetrics serves the metrics to the networks Config.MetricsAllow
// names, loopback by default: request rates and ledger timings are the
// operator's business, not every visitor's.
func (s *Server) handleMetrics(c *fiber.Ctx) error {
	if !s.metricsAllowed(s.clientAddr(c)) {
		return errorf(fiber.StatusForbidden, "metrics are not served to this address (see --metrics-allow)")
	}
	return s.metrics.handler(c)
}

func (s *Server) metricsAllowed(a netip.Addr) bool {
	if len(s.cfg.MetricsAllow) == 0 {
		return a.IsLoopback()
	}
	for _, p := range s.cfg.MetricsAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
