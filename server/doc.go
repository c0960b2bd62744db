// Package server is Crumb's HTTP face: the public consent API of DESIGN §4,
// the widget endpoint, and /metrics. It is the only package that knows Fiber;
// everything it serves comes from the domain packages, which it reaches
// through the small interfaces declared in deps.go.
//
// Routes are listed in one place, routes.go; each resource has its handlers in
// a file of its own. Handlers return errors, and one error handler (errors.go)
// turns them into the JSON error bodies and status codes of the contract, so
// that the vocabulary of failures lives in one place.
//
// The visitor's address is anonymised in clientAddr before any other code
// sees it; the raw address is never logged or stored.
package server
