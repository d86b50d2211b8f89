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

// Print writes r for a human. serverLabel names whose memory ServerBefore
// and the others are ("server", or "process" for an in-process server).
func (r SessionResult) Print(w io.Writer, serverLabel string) {
	fmt.Fprintf(w, "hosts:      %d registered, %d failed, in %s (%.0f hosts/s, key generation included)\n",
		r.Hosts, r.RegisterFailed, r.RegisterTime.Round(time.Millisecond), perSecond(r.Hosts, r.RegisterTime))
	src := "system-chosen source address"
	if r.SourceIPs > 0 {
		src = fmt.Sprintf("source addresses 127.0.0.1-127.0.0.%d", r.SourceIPs)
	}
	fmt.Fprintf(w, "sessions:   %d established, %d failed, in %s (%.0f handshakes/s, %s); %d dropped before the end\n",
		r.Sessions, r.DialFailed, r.DialTime.Round(time.Millisecond), perSecond(r.Sessions, r.DialTime), src, r.Dropped)
	fmt.Fprintf(w, "%-11s RSS %s before the uplinks, %s at %d sessions", serverLabel+":", mem(r.ServerBefore, false), mem(r.ServerAtSessions, false), r.Sessions)
	if b := r.BytesPerSession(); b > 0 {
		fmt.Fprintf(w, " (%.1f KiB per session)", b/1024)
	}
	fmt.Fprintf(w, ", peak %s%s\n", mem(r.ServerAtSessions, true), split(r.ServerAtSessions))
	if f := r.FanOut; f != nil {
		fmt.Fprintf(w, "fan-out:    update action for %d hosts (%d connected), %d-byte action, %d-byte frame each\n",
			f.Targets, f.Connected, f.ActionBytes, f.FrameBytes)
		fmt.Fprintf(w, "fan-out:    %d received intact, %d corrupt, %d missing, %d extra; POST answered in %s\n",
			f.Received, f.Corrupt, f.Missing, f.Extra, ms(f.Post))
		fmt.Fprintf(w, "fan-out:    first %s  p50 %s  p99 %s  max %s  total %s (from the POST to each frame read)\n",
			ms(f.First), ms(f.Latency.P50), ms(f.Latency.P99), ms(f.Latency.Max), ms(f.Total))
		fmt.Fprintf(w, "%-11s RSS %s after the fan-out, peak %s%s\n", serverLabel+":", mem(r.ServerAfterFanOut, false), mem(r.ServerAfterFanOut, true), split(r.ServerAfterFanOut))
	}
	if r.ServerAfterHold != nil {
		fmt.Fprintf(w, "%-11s RSS %s after the hold, peak %s%s\n", serverLabel+":", mem(r.ServerAfterHold, false), mem(r.ServerAfterHold, true), split(r.ServerAfterHold))
	}
	fmt.Fprintf(w, "pings:      %d sent, %d failed; %d other frames\n", r.Pings, r.PingsFailed, r.Other)
	fmt.Fprintf(w, "loadgen:    RSS %s, peak %s\n", mem(r.Self, false), mem(r.Self, true))
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error:      %s\n", e)
	}
}

// split formats m's RSS split into anonymous memory and mapped files.
func split(m *Mem) string {
	if m == nil || m.Anon+m.File == 0 {
		return ""
	}
	return fmt.Sprintf(" (anonymous %s, mapped files %s)", MiB(m.Anon), MiB(m.File))
}

// mem formats m's RSS (or its peak), "n/a" when not measured.
func mem(m *Mem, peak bool) string {
	switch {
	case m == nil:
		return "n/a"
	case peak:
		return MiB(m.HWM)
	}
	return MiB(m.RSS)
}
