#!/bin/sh
# adm reads /var/log on Debian and Ubuntu (syslog, auth.log …); the agent unit also has
# CAP_DAC_READ_SEARCH, but adm lets `sudo -u logcollect logcollect agent` read the same files.
# No unit is enabled or started: the configs need their brokers and endpoints first.
set -e
if getent group adm >/dev/null; then
	usermod --append --groups adm logcollect
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
