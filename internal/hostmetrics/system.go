package hostmetrics

import (
	"context"
	"time"
)

// collectSystem reports uptime, the number of processes and of logged-in users. Users
// needs utmp, which containers usually lack: that field is then left out.
func (c *Collector) collectSystem(ctx context.Context, at time.Time, s *snapshot) {
	fields := map[string]float64{}
	if up, err := c.src.Uptime(ctx); c.failure("host.uptime", err) {
		fields["uptime_seconds"] = float64(up)
	}
	if misc, err := c.src.LoadMisc(ctx); c.failure("load.misc", err) {
		fields["processes"] = float64(misc.ProcsTotal)
	}
	if users, err := c.src.Users(ctx); c.failure("host.users", err) {
		fields["users"] = float64(len(users))
	}
	if len(fields) == 0 {
		return
	}
	s.add(Point{Measurement: "system", Tags: c.tags(), Fields: fields, Time: at})
}
