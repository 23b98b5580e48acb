package hostmetrics

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
)

// isPseudoFS says whether a file system holds no disk space of its own (kernel interfaces,
// memory, read-only images), after node_exporter's and Telegraf's default exclusions.
func isPseudoFS(fstype string) bool {
	switch fstype {
	case "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs",
		"devpts", "devtmpfs", "efivarfs", "fusectl", "fuse.lxcfs", "hugetlbfs", "iso9660",
		"mqueue", "nsfs", "proc", "procfs", "pstore", "ramfs", "rpc_pipefs", "securityfs",
		"selinuxfs", "squashfs", "erofs", "sysfs", "tmpfs", "tracefs", "nfsd", "aufs", "none":
		return true
	}
	return false
}

// containerStorage are mount points of container runtimes' layers: the same disk counted
// again once per container.
var containerStorage = []string{"/var/lib/docker/", "/var/lib/containers/", "/run/containerd/", "/var/lib/kubelet/"}

// realMounts keeps one mount per device (the shortest mount point: "/" rather than the bind
// mounts a container gets of its files) and drops pseudo file systems.
func realMounts(parts []disk.PartitionStat) []disk.PartitionStat {
	parts = append([]disk.PartitionStat(nil), parts...)
	sort.SliceStable(parts, func(i, j int) bool { return len(parts[i].Mountpoint) < len(parts[j].Mountpoint) })
	seen := map[string]bool{}
	var out []disk.PartitionStat
	for _, p := range parts {
		if isPseudoFS(p.Fstype) || seen[p.Device] || underContainerStorage(p.Mountpoint) {
			continue
		}
		seen[p.Device] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out
}

func underContainerStorage(mount string) bool {
	for _, prefix := range containerStorage {
		if strings.HasPrefix(mount, prefix) {
			return true
		}
	}
	return false
}

func (c *Collector) collectDisk(ctx context.Context, at time.Time, s *snapshot) {
	parts, err := c.src.Partitions(ctx)
	if !c.failure("disk.partitions", err) {
		return
	}
	for _, p := range realMounts(parts) {
		u, err := c.src.DiskUsage(ctx, p.Mountpoint)
		if !c.failure("disk.usage", err) || u.Total == 0 {
			continue
		}
		s.add(Point{
			Measurement: "disk",
			Tags:        c.tags("path", p.Mountpoint, "device", p.Device, "fstype", p.Fstype),
			Fields: map[string]float64{
				"total":               float64(u.Total),
				"used":                float64(u.Used),
				"free":                float64(u.Free),
				"used_percent":        u.UsedPercent,
				"inodes_used_percent": u.InodesUsedPercent,
			},
			Time: at,
		})
	}
}
