package server

// routes lists every route the server answers.
func (s *Server) routes() {
	a := s.app
	a.Use(s.observe)

	a.Get("/healthz", s.handleHealth)
	a.Get("/metrics", s.handleMetrics)

	// Public API (DESIGN §4).
	a.Options("/v1/consent", s.handleConsentPreflight)
	a.Post("/v1/consent", s.handleConsent)
	a.Get("/v1/proof/:id", s.publicCORS, s.handleProof)
	a.Get("/v1/sites/:site/checkpoint", s.publicCORS, s.handleCheckpoint)
	a.Get("/v1/sites/:site/consistency", s.publicCORS, s.handleConsistency)
	a.Get("/v1/sites/:site/widget.js", s.publicCORS, s.handleWidget)
	a.Get("/v1/sites/:site/config", s.publicCORS, s.handleSiteConfig)
	a.Get("/v1/sites/:site/shared/:id", s.publicCORS, s.handleShared)
	a.Get("/v1/log-key", s.publicCORS, s.handleLogKey)
	a.Get("/.well-known/jwks.json", s.publicCORS, s.handleJWKS)
	a.Options("/v1/receipts/verify", s.publicCORS)
	a.Post("/v1/receipts/verify", s.publicCORS, s.handleVerifyReceipt)
	// Anything else falls through to Fiber's router error: 405 with an
	// Allow header for a known path, else 404 (statusOf words both).
}
