package loadgen

import (
	"fmt"
	"io"
	"time"
)

// Print writes r for a human.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "hosts:      %d registered, %d failed, in %s (%.0f hosts/s, key generation included)\n",
		r.Hosts, r.RegisterFailed, r.RegisterTime.Round(time.Millisecond), r.RegisterRate())
	if r.WarmupTime > 0 {
		fmt.Fprintf(w, "warm-up:    first report of each host (all packages new) in %s (%.0f posts/s), %d failed\n",
			r.WarmupTime.Round(time.Millisecond), perSecond(r.Hosts-r.WarmupFailed, r.WarmupTime), r.WarmupFailed)
	}
	if r.Scheduled > 0 {
		fmt.Fprintf(w, "posts:      %d scheduled at %.0f/s, %d sent, %d ok, %d failed\n",
			r.Scheduled, r.Rate, r.Sent, r.OK, r.Failed)
		fmt.Fprintf(w, "throughput: %.0f ok posts/s over %s\n", r.Throughput(), r.Elapsed.Round(time.Millisecond))
		l := r.Latency
		fmt.Fprintf(w, "latency:    p50 %s  p90 %s  p95 %s  p99 %s  max %s (from scheduled time)\n",
			ms(l.P50), ms(l.P90), ms(l.P95), ms(l.P99), ms(l.Max))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error:      %s\n", e)
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
