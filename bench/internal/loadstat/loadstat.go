// Package loadstat is what the load tools under bench/ share: nearest-rank
// percentiles, the process's CPU time, milliseconds for reports, and
// printing a report as a table or as JSON.
package loadstat

import (
	"cmp"
	"encoding/json"
	"io"
	"syscall"
	"time"
)

// Percentile is the nearest-rank p-percentile (0 ≤ p ≤ 1) of sorted, or the
// zero value when sorted is empty.
func Percentile[T cmp.Ordered](sorted []T, p float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ProcessCPU is the user and system CPU time the process used so far: on a
// machine shared with the load generator it says more than wall time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MS is d in milliseconds, to the microsecond.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Table is a report that can print itself for people.
type Table interface {
	WriteTable(io.Writer)
}

// Print writes rep to w as indented JSON, or as its table.
func Print(w io.Writer, rep Table, asJSON bool) error {
	if !asJSON {
		rep.WriteTable(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
