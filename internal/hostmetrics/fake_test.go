package hostmetrics

import (
	"context"
	"errors"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// fakeSource is a host in a fixture: each field is what the call returns; errs makes a
// call fail (by call name as counted in logcollect_host_collect_errors_total).
type fakeSource struct {
	cpus   []cpu.TimesStat
	avg    load.AvgStat
	misc   load.MiscStat
	vm     mem.VirtualMemoryStat
	swap   mem.SwapMemoryStat
	parts  []disk.PartitionStat
	usage  map[string]disk.UsageStat
	diskio map[string]disk.IOCountersStat
	nics   []net.IOCountersStat
	uptime uint64
	users  []host.UserStat
	errs   map[string]error
	calls  map[string]int
}

func (f *fakeSource) err(call string) error {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[call]++
	return f.errs[call]
}

func (f *fakeSource) CPUTimes(_ context.Context, perCPU bool) ([]cpu.TimesStat, error) {
	if !perCPU {
		return nil, errors.New("fake: only per-CPU times")
	}
	return append([]cpu.TimesStat(nil), f.cpus...), f.err("cpu.times")
}
func (f *fakeSource) CPUCount(context.Context) (int, error) { return len(f.cpus), f.err("cpu.count") }
func (f *fakeSource) LoadAvg(context.Context) (*load.AvgStat, error) {
	a := f.avg
	return &a, f.err("load.avg")
}
func (f *fakeSource) LoadMisc(context.Context) (*load.MiscStat, error) {
	m := f.misc
	return &m, f.err("load.misc")
}
func (f *fakeSource) VirtualMemory(context.Context) (*mem.VirtualMemoryStat, error) {
	v := f.vm
	return &v, f.err("mem.virtual")
}
func (f *fakeSource) SwapMemory(context.Context) (*mem.SwapMemoryStat, error) {
	s := f.swap
	return &s, f.err("mem.swap")
}
func (f *fakeSource) Partitions(context.Context) ([]disk.PartitionStat, error) {
	return f.parts, f.err("disk.partitions")
}
func (f *fakeSource) DiskUsage(_ context.Context, path string) (*disk.UsageStat, error) {
	u, ok := f.usage[path]
	if !ok {
		return nil, errors.New("fake: no usage for " + path)
	}
	return &u, f.err("disk.usage")
}
func (f *fakeSource) DiskIO(context.Context) (map[string]disk.IOCountersStat, error) {
	out := make(map[string]disk.IOCountersStat, len(f.diskio))
	for k, v := range f.diskio {
		out[k] = v
	}
	return out, f.err("disk.io")
}
func (f *fakeSource) NetIO(context.Context) ([]net.IOCountersStat, error) {
	return append([]net.IOCountersStat(nil), f.nics...), f.err("net.io")
}
func (f *fakeSource) Uptime(context.Context) (uint64, error) { return f.uptime, f.err("host.uptime") }
func (f *fakeSource) Users(context.Context) ([]host.UserStat, error) {
	return f.users, f.err("host.users")
}

// fixtureHost is a two-core host with one real disk, a tmpfs, a bind mount of the same
// disk, a loop device, a partition and two interfaces.
func fixtureHost() *fakeSource {
	return &fakeSource{
		cpus: []cpu.TimesStat{
			{CPU: "cpu0", User: 100, System: 50, Idle: 800, Iowait: 10, Steal: 0},
			{CPU: "cpu1", User: 200, System: 20, Idle: 700, Iowait: 0, Steal: 5},
		},
		avg:  load.AvgStat{Load1: 1, Load5: 0.5, Load15: 0.25},
		misc: load.MiscStat{ProcsTotal: 321},
		vm:   mem.VirtualMemoryStat{Total: 8 << 30, Used: 2 << 30, Available: 5 << 30, UsedPercent: 25},
		swap: mem.SwapMemoryStat{Total: 1 << 30, Used: 1 << 20},
		parts: []disk.PartitionStat{
			{Device: "/dev/vda", Mountpoint: "/etc/hosts", Fstype: "ext4"},
			{Device: "/dev/vda", Mountpoint: "/", Fstype: "ext4"},
			{Device: "tmpfs", Mountpoint: "/dev/shm", Fstype: "tmpfs"},
			{Device: "proc", Mountpoint: "/proc", Fstype: "proc"},
			{Device: "/dev/vdb", Mountpoint: "/data dir", Fstype: "xfs"},
		},
		usage: map[string]disk.UsageStat{
			"/":         {Total: 100 << 30, Used: 40 << 30, Free: 60 << 30, UsedPercent: 40, InodesUsedPercent: 3},
			"/data dir": {Total: 10 << 30, Used: 1 << 30, Free: 9 << 30, UsedPercent: 10, InodesUsedPercent: 1},
		},
		diskio: map[string]disk.IOCountersStat{
			"vda":   {ReadBytes: 1000, WriteBytes: 2000, ReadCount: 10, WriteCount: 20},
			"vda1":  {ReadBytes: 1000, WriteBytes: 2000, ReadCount: 10, WriteCount: 20},
			"loop0": {ReadBytes: 5},
		},
		nics: []net.IOCountersStat{
			{Name: "lo", BytesRecv: 100, BytesSent: 100, PacketsRecv: 1, PacketsSent: 1},
			{Name: "eth0", BytesRecv: 1000, BytesSent: 500, PacketsRecv: 10, PacketsSent: 5, Errin: 1, Dropin: 2},
		},
		uptime: 3600,
		errs:   map[string]error{"host.users": errors.New("open /var/run/utmp: no such file or directory")},
	}
}

// advance moves the fixture host on by one interval.
func (f *fakeSource) advance() {
	for i := range f.cpus {
		f.cpus[i].User += 3
		f.cpus[i].System += 1
		f.cpus[i].Idle += 5
		f.cpus[i].Iowait += 1
	}
	d := f.diskio["vda"]
	d.ReadBytes += 10000
	d.WriteBytes += 20000
	d.ReadCount += 10
	d.WriteCount += 20
	f.diskio["vda"] = d
	for i := range f.nics {
		f.nics[i].BytesRecv += 1000
		f.nics[i].BytesSent += 2000
		f.nics[i].PacketsRecv += 10
		f.nics[i].PacketsSent += 20
	}
	f.uptime += 10
}
