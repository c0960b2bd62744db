package ledger

import "runtime"

// Procs is the GOMAXPROCS a process that appends to a ledger under load
// should run with: one more than the runtime's default, unless the
// GOMAXPROCS environment variable chose (given as env, "" when unset).
//
// Why: the writer goroutine spends most of each group commit inside
// fdatasync, a blocking system call during which its thread keeps its P.
// The runtime hands that P to other goroutines only when sysmon notices,
// which on a busy server can take longer than the fsync itself, so on a
// 2-core machine a third of a core sat idle while requests waited to run
// (bench/consentload: iowait 0.33 cores; scheduler latency in a runtime
// trace). With one spare P, consents/s rose by ~40% and p99 fell from 55–60
// to 38–42 ms on the same machine (docs/benchmarks.md).
// It does not add up: calling it again, after GOMAXPROCS was raised, gives
// the same answer.
func Procs(env string) int {
	if env != "" {
		return startProcs
	}
	return startProcs + 1
}

// startProcs is GOMAXPROCS as the process started.
var startProcs = runtime.GOMAXPROCS(0)
