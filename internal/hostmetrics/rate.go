package hostmetrics

import "time"

// counters remembers the last values of each series' cumulative counters, to turn them
// into differences. Series not seen in an interval are forgotten (a removed device).
type counters struct {
	prev  map[string]counterSample
	round uint64
}

type counterSample struct {
	at     time.Time
	values []float64
	round  uint64
}

func newCounters() *counters { return &counters{prev: map[string]counterSample{}} }

// begin starts an interval; end forgets the series that were not seen in it.
func (c *counters) begin() { c.round++ }

func (c *counters) end() {
	for k, s := range c.prev {
		if s.round != c.round {
			delete(c.prev, k)
		}
	}
}

// delta records values for key and returns their differences from the previous interval
// and the seconds between the two. ok is false on the first sight of key, when any counter
// went backwards (a reset: the new values become the baseline) or when no time passed.
func (c *counters) delta(key string, at time.Time, values []float64) (d []float64, secs float64, ok bool) {
	prev, seen := c.prev[key]
	c.prev[key] = counterSample{at: at, values: values, round: c.round}
	if !seen || len(prev.values) != len(values) {
		return nil, 0, false
	}
	secs = at.Sub(prev.at).Seconds()
	if secs <= 0 {
		return nil, 0, false
	}
	d = make([]float64, len(values))
	for i, v := range values {
		if v < prev.values[i] {
			return nil, 0, false
		}
		d[i] = v - prev.values[i]
	}
	return d, secs, true
}

// deltaClamped is delta for counters that are known to step back a little without a
// reset (Linux's per-CPU iowait): a negative difference counts as zero.
func (c *counters) deltaClamped(key string, at time.Time, values []float64) ([]float64, bool) {
	prev, seen := c.prev[key]
	c.prev[key] = counterSample{at: at, values: values, round: c.round}
	if !seen || len(prev.values) != len(values) || !at.After(prev.at) {
		return nil, false
	}
	d := make([]float64, len(values))
	for i, v := range values {
		d[i] = max(0, v-prev.values[i])
	}
	return d, true
}

// rates is delta divided by the elapsed seconds.
func (c *counters) rates(key string, at time.Time, values []float64) ([]float64, bool) {
	d, secs, ok := c.delta(key, at, values)
	if !ok {
		return nil, false
	}
	for i := range d {
		d[i] /= secs
	}
	return d, true
}
