/*
Consentload measures Crumb's public consent API under load and compares it,
in the same run, with two baselines on the same Fiber stack: the same
handlers without storage, and handlers that do no work at all.

It starts three servers on loopback in its own process:

  - real: server.New with real stores in a fresh temporary data directory
    (crumb.db opened with bbolt and account.Open, ledger.Open with its
    default group commit and checkpoint timer, consent.LoadReceipts) and
    one site created with the default banner, rate limit off: what
    `crumb serve` runs;
  - no-storage: server.New with the real server's site registry and
    receipt key over a ledger that stores nothing (realserver.NoStorage):
    each consent is decoded, checked, made into a record with its salt and
    leaf hash and signed into a receipt exactly as by the real server, but
    Append only numbers it; a proof request gets one proof of the real log
    held in memory. This is the "no-storage baseline handler": the
    ratio real/no-storage is what durable storage costs, and it is the
    figure the goal names;
  - empty: server.NewBaseline, the same Fiber configuration whose consent
    and proof routes answer at once without any work. Real/empty shows
    what everything costs, Ed25519 receipts and strict decoding included.

Each target is driven by the same closed-loop generator: -c clients (default
256), each with its own keep-alive connection (fasthttp.HostClient with
MaxConns = clients), send one request, wait for its answer, send the next.
Each phase measures -d per target (default 10s), split into -rounds slices
(default 5) that rotate among the three targets (real, no-storage, empty;
then no-storage first, …), so that all meet the same background load when the
machine is shared; -warmup (default 1s, not counted) precedes each target's
first slice, and a shorter one (≤ 250ms) each later slice, where the closed
loop restarts. Two phases run in this order:

	consent  POST /v1/consent with a valid body: a distinct nonce per
	         request and four state variants (accept_all, reject_all,
	         custom, gpc); the real server answers 201 only after the
	         ledger's group commit is fsync'd
	proof    GET /v1/proof/{id}, cycling through the ids the real server
	         returned in the consent phase (the baselines get the same paths)

For each target and phase it reports requests per second, p50/p90/p99/max
latency, errors, the CPU cores the process used and its CPU time per request
(server and generator together: it depends far less than req/s on what else
runs on the machine), then the real/no-storage and real/empty ratios and the ledger's group
commit figures (commits, mean batch size and commit time, taken from
ledger.Options.OnCommit during the measured consent slices, and the bytes
the process wrote to storage per commit, from /proc/self/io).

Counting: a request counts when it completes inside the measurement window;
latencies are those of the counted requests. Errors are counted over the
whole phase, warm-up included: a transport error, any non-2xx status, or a
real consent answer without an id. The first error messages are printed.
The tool exits with status 1 when any request failed. Missing the issue's
goal (durable consents/s ≥ 0.5× the no-storage baseline's with p99 ≤ 50 ms,
proofs/s ≥ 0.5× the no-storage baseline's) is a figure to record, not a
failure.

Usage:

	go run ./bench/consentload [-c 256] [-d 10s] [-rounds 5] [-warmup 1s]
	    [-json] [-cpuprofile FILE] [-proof-cpuprofile FILE] [-keep DIR]
	    [-no-nonce]

-cpuprofile profiles the whole process (server and generator, they share
it) during the real server's measured consent slices, -proof-cpuprofile
during its proof slices, one file per slice (FILE.1, FILE.2, … when
-rounds > 1); read them together with `go tool pprof -top FILE.*`.
-no-nonce leaves the optional nonce out of the consent bodies, to show
what the ledger's nonce index costs.

The generator shares the machine's cores with the server, as the issue asks;
its own cost is the same for every target, so the ratios are what to read.
*/
package main
