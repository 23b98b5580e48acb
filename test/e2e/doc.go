// Package e2e holds end-to-end tests of the real logcollect binary (build tag
// integration): rotation with the real logrotate, the kubelet's container logs, SIGKILL
// crash recovery, and many files.
package e2e
