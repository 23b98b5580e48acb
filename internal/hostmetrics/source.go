package hostmetrics

import (
	"context"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// Source is the part of gopsutil the collector uses, so tests can feed fixtures.
type Source interface {
	CPUTimes(ctx context.Context, perCPU bool) ([]cpu.TimesStat, error)
	CPUCount(ctx context.Context) (int, error)
	LoadAvg(ctx context.Context) (*load.AvgStat, error)
	LoadMisc(ctx context.Context) (*load.MiscStat, error)
	VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error)
	SwapMemory(ctx context.Context) (*mem.SwapMemoryStat, error)
	Partitions(ctx context.Context) ([]disk.PartitionStat, error)
	DiskUsage(ctx context.Context, path string) (*disk.UsageStat, error)
	DiskIO(ctx context.Context) (map[string]disk.IOCountersStat, error)
	NetIO(ctx context.Context) ([]net.IOCountersStat, error)
	Uptime(ctx context.Context) (uint64, error)
	Users(ctx context.Context) ([]host.UserStat, error)
}

// GopsutilSource reads the running host through gopsutil v4.
type GopsutilSource struct{}

var _ Source = GopsutilSource{}

func (GopsutilSource) CPUTimes(ctx context.Context, perCPU bool) ([]cpu.TimesStat, error) {
	return cpu.TimesWithContext(ctx, perCPU)
}
func (GopsutilSource) CPUCount(ctx context.Context) (int, error) {
	return cpu.CountsWithContext(ctx, true)
}
func (GopsutilSource) LoadAvg(ctx context.Context) (*load.AvgStat, error) {
	return load.AvgWithContext(ctx)
}
func (GopsutilSource) LoadMisc(ctx context.Context) (*load.MiscStat, error) {
	return load.MiscWithContext(ctx)
}
func (GopsutilSource) VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error) {
	return mem.VirtualMemoryWithContext(ctx)
}
func (GopsutilSource) SwapMemory(ctx context.Context) (*mem.SwapMemoryStat, error) {
	return mem.SwapMemoryWithContext(ctx)
}

// Partitions lists every mount; the collector filters out pseudo file systems itself so
// that the rule is the same on every platform and visible in one place.
func (GopsutilSource) Partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, true)
}
func (GopsutilSource) DiskUsage(ctx context.Context, path string) (*disk.UsageStat, error) {
	return disk.UsageWithContext(ctx, path)
}
func (GopsutilSource) DiskIO(ctx context.Context) (map[string]disk.IOCountersStat, error) {
	return disk.IOCountersWithContext(ctx)
}
func (GopsutilSource) NetIO(ctx context.Context) ([]net.IOCountersStat, error) {
	return net.IOCountersWithContext(ctx, true)
}
func (GopsutilSource) Uptime(ctx context.Context) (uint64, error) {
	return host.UptimeWithContext(ctx)
}
func (GopsutilSource) Users(ctx context.Context) ([]host.UserStat, error) {
	return host.UsersWithContext(ctx)
}
