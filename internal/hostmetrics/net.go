package hostmetrics

import (
	"context"
	"time"
)

var netCounters = []string{"bytes_recv", "bytes_sent", "packets_recv", "packets_sent", "err_in", "err_out", "drop_in", "drop_out"}

func (c *Collector) collectNet(ctx context.Context, at time.Time, s *snapshot) {
	nics, err := c.src.NetIO(ctx)
	if !c.failure("net.io", err) {
		return
	}
	for _, n := range nics {
		tags := c.tags("interface", n.Name)
		vals := []float64{float64(n.BytesRecv), float64(n.BytesSent), float64(n.PacketsRecv), float64(n.PacketsSent),
			float64(n.Errin), float64(n.Errout), float64(n.Dropin), float64(n.Dropout)}
		s.addCounters("net", tags, netCounters, vals)
		r, ok := c.net.rates(n.Name, at, vals)
		if !ok {
			continue
		}
		fields := make(map[string]float64, len(netCounters))
		for i, name := range netCounters {
			fields[name+"_per_sec"] = r[i]
		}
		s.add(Point{Measurement: "net", Tags: tags, Fields: fields, Time: at})
	}
}
