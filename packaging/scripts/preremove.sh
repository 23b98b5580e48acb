#!/bin/sh
# On removal (not on upgrade) stop the running services. dpkg passes "remove", rpm passes 0
# (the number of versions left).
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		for u in agent transfer sysagent standalone; do
			systemctl disable --now "logcollect-$u.service" >/dev/null 2>&1 || true
		done
	fi
	;;
esac
exit 0
