package hostmetrics

import (
	"context"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
)

// The order of cpuTimes' values.
const (
	cpuUser = iota
	cpuSystem
	cpuIdle
	cpuNice
	cpuIowait
	cpuIrq
	cpuSoftirq
	cpuSteal
	cpuModes
)

// cpuTimes are the seconds spent in each mode; guest time is already part of user on
// Linux, so it is not added again.
func cpuTimes(t cpu.TimesStat) []float64 {
	return []float64{t.User, t.System, t.Idle, t.Nice, t.Iowait, t.Irq, t.Softirq, t.Steal}
}

// collectCPU emits one cpu point per core and one with cpu=total (the sum of the cores,
// which is what /proc/stat's first line is), as percentages of the interval.
func (c *Collector) collectCPU(ctx context.Context, at time.Time, s *snapshot) {
	per, err := c.src.CPUTimes(ctx, true)
	if !c.failure("cpu.times", err) || len(per) == 0 {
		return
	}
	total := make([]float64, cpuModes)
	for _, t := range per {
		v := cpuTimes(t)
		for i := range total {
			total[i] += v[i]
		}
		c.cpuPoint(at, t.CPU, v, s)
	}
	c.cpuPoint(at, "total", total, s)
}

func (c *Collector) cpuPoint(at time.Time, name string, times []float64, s *snapshot) {
	d, ok := c.cpu.deltaClamped(name, at, times)
	if !ok {
		return
	}
	var all float64
	for _, v := range d {
		all += v
	}
	if all <= 0 {
		return
	}
	pct := func(v float64) float64 { return min(100, 100*v/all) }
	s.add(Point{
		Measurement: "cpu",
		Tags:        c.tags("cpu", name),
		Fields: map[string]float64{
			"usage_percent":  pct(all - d[cpuIdle] - d[cpuIowait]),
			"user_percent":   pct(d[cpuUser]),
			"system_percent": pct(d[cpuSystem]),
			"iowait_percent": pct(d[cpuIowait]),
			"steal_percent":  pct(d[cpuSteal]),
		},
		Time: at,
	})
}
