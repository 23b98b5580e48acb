package hostmetrics

import (
	"context"
	"time"
)

func (c *Collector) collectLoad(ctx context.Context, at time.Time, s *snapshot) {
	avg, err := c.src.LoadAvg(ctx)
	if !c.failure("load.avg", err) {
		return
	}
	fields := map[string]float64{"load1": avg.Load1, "load5": avg.Load5, "load15": avg.Load15}
	n, err := c.src.CPUCount(ctx)
	if c.failure("cpu.count", err) && n > 0 {
		fields["n_cpus"] = float64(n)
		fields["load1_per_core"] = avg.Load1 / float64(n)
		fields["load5_per_core"] = avg.Load5 / float64(n)
		fields["load15_per_core"] = avg.Load15 / float64(n)
	}
	s.add(Point{Measurement: "load", Tags: c.tags(), Fields: fields, Time: at})
}
