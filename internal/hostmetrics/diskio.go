package hostmetrics

import (
	"context"
	"regexp"
	"sort"
	"time"
)

// notAWholeDisk matches partitions (their IO is already in the disk's numbers, so a sum
// would count it twice) and devices that are not disks: ram, loop, floppy, optical.
var notAWholeDisk = regexp.MustCompile(`^(ram|zram|loop|fd|sr|nbd)\d+$|^([hsv]|xv)d[a-z]+\d+$|^nvme\d+n\d+p\d+$|^mmcblk\d+p\d+$`)

var diskioCounters = []string{"read_bytes", "write_bytes", "reads", "writes"}

func (c *Collector) collectDiskIO(ctx context.Context, at time.Time, s *snapshot) {
	io, err := c.src.DiskIO(ctx)
	if !c.failure("disk.io", err) {
		return
	}
	names := make([]string, 0, len(io))
	for name := range io {
		if !notAWholeDisk.MatchString(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		st := io[name]
		tags := c.tags("device", name)
		vals := []float64{float64(st.ReadBytes), float64(st.WriteBytes), float64(st.ReadCount), float64(st.WriteCount)}
		s.addCounters("diskio", tags, diskioCounters, vals)
		r, ok := c.diskio.rates(name, at, vals)
		if !ok {
			continue
		}
		s.add(Point{
			Measurement: "diskio",
			Tags:        tags,
			Fields: map[string]float64{
				"read_bytes_per_sec": r[0], "write_bytes_per_sec": r[1], "reads_per_sec": r[2], "writes_per_sec": r[3],
			},
			Time: at,
		})
	}
}
