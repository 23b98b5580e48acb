#!/bin/sh
# `dpkg --purge` removes the data (checkpoints, spool, the standalone's store) and the
# configs; a plain remove keeps both, as Debian packages do. The logcollect user stays
# (Debian policy: files it owns may remain elsewhere, e.g. in a backup).
set -e
case "$1" in
purge)
	rm -rf /var/lib/logcollect /etc/logcollect
	;;
esac
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
