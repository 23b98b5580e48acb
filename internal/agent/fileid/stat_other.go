//go:build !unix

package fileid

import "os"

// fromSys has no inode to offer here; identity then rests on the fingerprint alone.
func fromSys(os.FileInfo) (dev, ino uint64) { return 0, 0 }
