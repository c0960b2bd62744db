// Package scanner is Crumb's cookie scanner. It crawls a site, finds every
// cookie the site sets, classifies each one (necessary, preferences,
// statistics, marketing — or unclassified), and flags what is set before the
// visitor has consented. Its report is the JSON contract of DESIGN §7.
//
// # Basics
//
// One call scans a site:
//
//	rep, err := scanner.Scan(ctx, scanner.Options{URL: "https://example.com"})
//
// The report lists the pages loaded, every cookie with its attributes, who
// set it (a response header or a script, and which one), on which pages, its
// category and where that came from, and "before_consent" when a cookie
// outside necessary was seen before any choice. It also lists the requests
// the pages make, first and third party.
//
// # Engines
//
// The colly engine (the default) speaks HTTP only. It starts at the URL and
// the site's sitemaps (robots.txt Sitemap lines and /sitemap.xml, indexes
// followed), stays on the site's registrable domain (public suffix list), up
// to Options.Pages pages, honours robots.txt and runs a few requests at a
// time with a small delay. A recording http.RoundTripper sees every
// Set-Cookie, on every redirect hop. Without JavaScript it cannot see
// cookies written by scripts; it lists the scripts, frames and images the
// HTML names as requests.
//
// The chrome engine loads each page in a real Chromium (chromedp), each time
// in a fresh browser context with one hidden tab. It sees cookies set by
// headers (Network.responseReceivedExtraInfo), cookies and Web Storage keys
// written by scripts — a hook evaluated before the page's scripts wraps
// document.cookie, cookieStore.set and Storage.setItem and reports through a
// runtime binding with the calling script's URL — the final cookie jar
// (Storage.getCookies), and every request. With Options.Consent "all" each
// page runs three times: with no choice, after Accept all and after Reject
// all in the Crumb banner (<crumb-consent>, an open shadow root, buttons with
// data-action="accept_all" and "reject_all"). A cookie outside necessary
// still set after Reject all is flagged "after_reject". A Browser can be
// shared between scans (Options.Browser) to save its start-up; a Runner
// shares one between its chrome jobs by itself, started with the first and
// stopped after a few idle minutes.
//
// # Classification
//
// A Classifier holds Crumb's built-in database (BuiltinDefinitions: about
// 300 well-known cookies and patterns such as "_ga_*" with category,
// provider, purpose and typical lifetime, written for Crumb), definitions
// imported from the Open Cookie Database CSV (ParseOpenCookieDatabase,
// Store.ImportOpenCookieDatabase) and per-site overrides, which win. Exact
// names beat patterns and longer patterns beat shorter ones. An unknown
// cookie is "unclassified" with a hint drawn from its name, attributes and
// the host that set it (LookupTracker knows the common tracker hosts).
// Every classification names its source.
//
// # Jobs and evidence
//
// A Store keeps imported definitions, overrides, reports, jobs and rescan
// schedules in buckets of crumb.db whose names start with "scan". A Runner
// runs scans as jobs — queued, a few at a time, with progress for a progress
// bar and cancellation — stores each report, and calls RunnerOptions.OnReport
// with the SHA-256 of the stored report JSON, which the server appends to the
// site's "<site>/scans" ledger log: later, the owner can prove which cookies
// the site set on a given day. Runner.Run rescans scheduled sites (every 30
// days by default); Compare and Runner.Diff say what changed between scans.
//
// # Feeding the banner
//
// Services groups a report's cookies by category and provider: the site's
// cookie declaration, and the services the banner proposes per category.
// BlockHosts lists the third-party hosts whose scripts and frames the widget
// should hold until their category is granted: hosts on the built-in tracker
// list (LookupTracker) and hosts the scan saw setting cookies beyond
// necessary.
//
// # Caveats
//
// Targets on loopback, private, link-local, CGNAT and other special-purpose
// addresses are refused when connecting — after DNS, to the address checked,
// so DNS rebinding cannot get around it — unless Options.AllowPrivate is
// set. This holds for every request: redirects, robots.txt, sitemaps, and the
// browser, which reaches the network only through a local proxy that applies
// the same check (with the bypass list "<-loopback>", so the browser sends
// even loopback addresses to it). WebRTC would not use the proxy (STUN and
// TURN go over UDP to any address a page names, and no Chromium switch stops
// it), so the hook every frame runs first removes RTCPeerConnection: a scan
// needs no WebRTC.
//
// A site cannot hang or exhaust the scanner: pages are capped in number,
// bodies in size (the proxy caps what the browser receives too), redirects
// in hops, and every response in time. A scan that is canceled or runs out of
// time returns what it found, marked truncated, with the context's error.
//
// The browser runs with --no-sandbox (it is usually started as root in a
// container) and with site isolation off, so that a cross-site iframe's
// events reach the page's session; it only ever loads the pages being
// scanned. Its profile allows third-party cookies, which a fresh headless
// profile would block, so the scan sees what a real visitor's browser
// stores.
package scanner
