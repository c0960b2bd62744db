package loadstat

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {0, 1}, {1, 10}} {
		if got := Percentile(d, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if Percentile([]time.Duration(nil), 0.5) != 0 || Percentile([]float64(nil), 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
	if got := Percentile([]float64{1, 2, 3}, 0.5); got != 2 {
		t.Errorf("median of 1, 2, 3 = %v", got)
	}
	if got := Percentile([]float64{7}, 0.9); got != 7 {
		t.Errorf("p90 of one value = %v", got)
	}
}

func TestMS(t *testing.T) {
	if got := MS(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("MS(1.5ms) = %v", got)
	}
}

func TestProcessCPU(t *testing.T) {
	before := ProcessCPU()
	for i := 0; ProcessCPU() == before; i++ { // spin until the clock ticks
		if i > 1e8 {
			t.Fatal("process CPU time does not advance")
		}
	}
}

type report struct {
	Rate float64 `json:"rate"`
}

func (r report) WriteTable(w io.Writer) { io.WriteString(w, "rate 2.5\n") }

func TestPrint(t *testing.T) {
	var table, js bytes.Buffer
	if err := Print(&table, report{2.5}, false); err != nil || table.String() != "rate 2.5\n" {
		t.Errorf("table: %q, %v", table.String(), err)
	}
	if err := Print(&js, report{2.5}, true); err != nil || js.String() != "{\n  \"rate\": 2.5\n}\n" {
		t.Errorf("JSON: %q, %v", js.String(), err)
	}
}
