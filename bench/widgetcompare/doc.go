/*
Widgetcompare measures Crumb's banner against vanilla-cookieconsent and klaro
from npm, the figures issue 3 asks for: what each serves (JS+CSS, raw, gzip,
brotli), how long after navigation start its banner is in the DOM in
headless Chromium, and how many widget.js requests per second Crumb's server
answers.

Setup, once (node_modules is not committed; package.json pins the versions):

	npm install --prefix bench/widgetcompare

Usage:

	go run ./bench/widgetcompare [-n 20] [-warmup 1] [-libs crumb,vanilla-cookieconsent,klaro[,floor,floor-sync]]
	    [-c 64] [-d 5s] [-trace N] [-throttle slow4g|3g] [-no-browser] [-no-load] [-json] [-chromium BIN] [-modules DIR]

Everything runs in this process and on loopback:

  - the real Crumb server: server.New over real stores in a temporary data
    directory (bbolt, account, ledger, receipts, as bench/consentload and
    `crumb serve` wire them) with one site on widget.DefaultConfig;
  - a static server with two origins: the "site", serving one small shop page
    per library plus an empty one, and the "CDN", serving the npm libraries'
    files. Crumb's widget.js comes from the Crumb server's origin, so every
    library loads from a second origin, as in production. The static files
    are compressed as Crumb's server compresses widget.js: brotli 11 when the
    client accepts it, else gzip 9.

# Size

Crumb: widget.js for one language (Accept-Language: en), fetched three times
from the real server, plain, gzip and brotli, and measured as served.
vanilla-cookieconsent: dist/cookieconsent.umd.js + dist/cookieconsent.css;
klaro: dist/klaro.js, the standard build with its CSS inside (its README's
recommendation; klaro-no-css.js needs klaro.min.css beside it). Their files
are compressed here at gzip level 9 and brotli 11 and summed. Issue 3's goal
is ≤ 8 KB (8192 B) gzip'd for Crumb.

# Time to banner

Each page starts with an inline script that installs a MutationObserver
before any library tag; it writes performance.now() (ms since navigation
start) to window.__bannerAt the first time the banner is in the DOM, and to
window.__paintedAt the end of the frame after that (a message posted from a
requestAnimationFrame callback, so after that frame's style, layout and
paint):

	crumb                  <crumb-consent> whose open shadow root holds [role=dialog]
	vanilla-cookieconsent  #cc-main .cm
	klaro                  .klaro .cookie-notice (or .cookie-modal)

Each page embeds its library the way the library's documentation shows, with
a minimal config that shows the banner at once: Crumb's one async script tag
in <head> (DESIGN §6); vanilla-cookieconsent's stylesheet in <head> and its
UMD build plus CookieConsent.run at the end of <body>, with hideFromBots:false
(else it hides itself from navigator.webdriver and headless user agents);
klaro's klaroConfig and its script with defer in <head>, one service,
mustConsent:false (the notice).

The empty page is the same page without a library; its mark is
DOMContentLoaded. -libs may also name two floor pages, measured only when
named: "floor", whose script (from the CDN origin, under DESIGN §6's async
tag) does nothing but append a <crumb-consent> with its dialog, and
"floor-sync", the same script behind a parser-blocking tag. What a widget
takes beyond "floor" is its own work; "floor" itself is Chromium's fetch and
scheduling, which no script under the async tag can go below.

-throttle slows every request of the timed visits to one of DevTools'
network profiles (Lighthouse's mobile Slow 4G or 3G, as DevTools applies
them: 562.5 or 1125 ms a request, 1.4 or 0.6 Mbit/s down). On loopback bytes
cost nothing; on those links what a library serves, and how many requests
it makes, counts. Every visit opens a new tab in a fresh browser context (no
cookies, storage or HTTP cache). One round visits every page once, in an
order that rotates from round to round; -warmup rounds come first and are
not counted, then -n rounds. For each page the table gives the median and p90
time, and "net": the median and p90 over rounds of the visit's time minus the
same round's empty page, what the library adds; "painted" the same for the
frame after the banner. The two differ in what they count: a library that
forces style and layout in its own script (Crumb did until e3d1ebb, with
showPopover and focus) pays for them before its "in DOM" mark, one that
leaves them to the next frame (Crumb now opens its dialog, and since fa9dd3e
parses its style sheet, there) after; "painted" counts both alike. The mark
is taken by a MutationObserver, so at the end of the task that inserted the
banner: work later in the same task counts, work in a later task does not. Pairing within a round keeps
out most of the drift of a shared machine. "req. start" and "files in" are
the medians of when the page requested its first subresource and received
its last (resource timing): the gap between "files in" and the banner is the
library's parse, compile and run. Issue 3's goal: Crumb's net median at most
half of vanilla-cookieconsent's.

With -trace N, N more visits per library run with Chrome tracing on (the
categories of DevTools' performance panel); the table then says, per library
(medians), when its files were in, when its script began to run on the main
thread and how long that took, the style and layout between that start and
the banner, and its stylesheet parsing, followed by the main-thread timeline
of the last traced visit. With -trace-dir DIR each traced visit's whole
trace, every process and thread with the network service's log, is also
written to DIR for Perfetto or chrome://tracing. Tracing slows the page: these figures say where
time goes, not how much there is.

Chromium is $CRUMB_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser or
google-chrome, started with the flags of internal/browsertest (headless, no
sandbox, no GPU, nothing that calls out to the network).

# Requests per second

A closed loop of -c clients (default 64) on keep-alive connections
(fasthttp.HostClient), each sending GET widget.js with Accept-Encoding: br
and Accept-Language: en-US,en;q=0.9, and the same against
server.NewBaseline's GET /v1/proof/x: the same Fiber stack doing no work.
The two take turns, one second each, until each has had -d (default 5 s;
500 ms of warm-up before the first turn), so that what other processes do to
the machine for a while weighs on both alike. Reported: req/s, p50, p99,
and the ratios crumb/baseline. The load's language list is cached by then
(the size part asked for it), so these are cache hits.

Then the cost of a miss: the server keeps rendered, compressed variants keyed
by site, version, rule set and the languages it inlines, and renders and
compresses (gzip 9, brotli 11) a new one on the request path. Twenty
sequential requests, each with a language list of built-in languages not asked
for before, give the miss latency (and the same twenty again the hit
latency); then -c requests at once, on connections opened beforehand, for
one more new list show what a burst of visitors costs on a new banner
version. The process's CPU time for the burst over that of one miss says how
many of them rendered and compressed the variant themselves.

# Output and exit status

A table on stdout, or with -json the Report. Nothing is written elsewhere;
the temporary data and browser profile directories are removed. The tool
exits with status 1 when a library's banner did not appear in some visit
(naming it and the error), or when a part could not be measured; 2 when
Chromium or node_modules is missing or a flag is wrong. Missing a goal is a
figure, not a failure.

The machine's cores are shared with the browser, the servers and the load
generator, and on a developer machine with everything else: run it a few
times and read the spread.
*/
package main
