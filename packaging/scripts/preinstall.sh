#!/bin/sh
# The logcollect system user and group exist before the files are unpacked, so the config
# files (root:logcollect 0640) and the data directories (logcollect:logcollect) get them.
set -e
if ! getent group logcollect >/dev/null; then
	groupadd --system logcollect
fi
if ! getent passwd logcollect >/dev/null; then
	useradd --system --gid logcollect --home-dir /var/lib/logcollect --no-create-home \
		--shell /usr/sbin/nologin --comment "logcollect log collector" logcollect
fi
exit 0
