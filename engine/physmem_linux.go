package engine

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// physicalMemory is the memory the server may use in bytes (0 if
// unknown): the machine's physical memory, or the limit of the control
// group the process runs in (a container's memory limit) when lower.
func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	total := int64(si.Totalram) * int64(si.Unit)
	if limit := cgroupMemoryLimit(); limit > 0 && (total == 0 || limit < total) {
		return limit
	}
	return total
}

// cgroupMemoryLimit reads the memory limit of the process's control group
// (cgroup v2 memory.max, else v1 memory.limit_in_bytes); 0 when there is
// none or it cannot be read.
func cgroupMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<60 { // "max", or v1's "unlimited"
			return 0
		}
		return v
	}
	return 0
}
