//go:build unix

package fileid

import (
	"os"
	"syscall"
)

func fromSys(fi os.FileInfo) (dev, ino uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return 0, 0
	}
	// The field types differ between platforms (Dev is int32 on darwin); the conversions
	// are no-ops on linux.
	return uint64(st.Dev), uint64(st.Ino)
}
