package hostmetrics

import (
	"context"
	"time"
)

// collectMem reports memory in bytes; swap is optional (a container may show none, or
// fail to read it) and its fields are left out when the call fails.
func (c *Collector) collectMem(ctx context.Context, at time.Time, s *snapshot) {
	vm, err := c.src.VirtualMemory(ctx)
	if !c.failure("mem.virtual", err) {
		return
	}
	fields := map[string]float64{
		"total":        float64(vm.Total),
		"used":         float64(vm.Used),
		"available":    float64(vm.Available),
		"used_percent": vm.UsedPercent,
	}
	if sw, err := c.src.SwapMemory(ctx); c.failure("mem.swap", err) {
		fields["swap_total"] = float64(sw.Total)
		fields["swap_used"] = float64(sw.Used)
	}
	s.add(Point{Measurement: "mem", Tags: c.tags(), Fields: fields, Time: at})
}
