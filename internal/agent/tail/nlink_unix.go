//go:build unix

package tail

import (
	"os"
	"syscall"
)

// nlink returns the file's link count; 0 means it was deleted while open.
func nlink(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
