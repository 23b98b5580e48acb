#!/usr/bin/env bash
# The package test (make package-test, as root): installs this machine's .deb from dist/,
# checks the user, the directories, the configs (logcollect check, run as the logcollect
# user) and the units (systemd-analyze verify), then removes and purges it and checks that
# nothing is left.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "package-test: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root (dpkg -i)"
if ! command -v systemd-analyze >/dev/null; then
	echo "package-test: installing systemd (for systemd-analyze verify)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; } ||
		die "apt-get install systemd failed"
fi
arch=$(dpkg --print-architecture)
debs=(dist/logcollect_*_"$arch".deb)
[[ -f ${debs[-1]} ]] || die "no dist/logcollect_*_$arch.deb: run make package"
deb=${debs[-1]}

dpkg -i "$deb" >/dev/null || die "dpkg -i $deb failed"
trap 'dpkg --purge logcollect >/dev/null 2>&1 || true' EXIT

getent passwd logcollect >/dev/null || die "no logcollect user"
if getent group adm >/dev/null; then
	id -nG logcollect | tr ' ' '\n' | grep -qx adm || die "logcollect is not in group adm"
fi
for d in /var/lib/logcollect /var/lib/logcollect/agent /var/lib/logcollect/standalone; do
	[[ $(stat -c '%U:%G %a' "$d") == "logcollect:logcollect 750" ]] || die "$d: $(stat -c '%U:%G %a' "$d"), want logcollect:logcollect 750"
done
runuser -u logcollect -- test -w /var/lib/logcollect/agent || die "logcollect cannot write /var/lib/logcollect/agent"
for f in agent transfer sysagent standalone; do
	conf=/etc/logcollect/$f.yaml
	[[ $(stat -c '%U:%G %a' "$conf") == "root:logcollect 640" ]] || die "$conf: $(stat -c '%U:%G %a' "$conf")"
	# As the service user: it must be able to read its config.
	runuser -u logcollect -- /usr/bin/logcollect check --quiet --config "$conf" || die "logcollect check rejects $conf"
done
# logcollect-agent runs the agent and sysagent units: it must accept their configs.
for f in agent sysagent; do
	runuser -u logcollect -- /usr/bin/logcollect-agent check --quiet --config "/etc/logcollect/$f.yaml" ||
		die "logcollect-agent check rejects /etc/logcollect/$f.yaml"
done
/usr/bin/logcollect version | grep -q '^logcollect ' || die "logcollect version"
/usr/bin/logcollect-agent version | grep -q '^logcollect-agent ' || die "logcollect-agent version"
for u in agent sysagent; do
	grep -q "^ExecStart=/usr/bin/logcollect-agent $u " "/usr/lib/systemd/system/logcollect-$u.service" ||
		die "logcollect-$u.service does not run logcollect-agent $u"
done
units=(/usr/lib/systemd/system/logcollect-{agent,transfer,sysagent,standalone}.service)
# verify prints warnings on stderr and fails on errors; an empty stderr means no warning either.
out=$(systemd-analyze verify "${units[@]}" 2>&1) || die "systemd-analyze verify: $out"
[[ -z $out ]] || die "systemd-analyze verify warns: $out"

dpkg -r logcollect >/dev/null || die "dpkg -r failed"
for b in /usr/bin/logcollect /usr/bin/logcollect-agent; do [[ ! -e $b ]] || die "dpkg -r left $b"; done
for u in "${units[@]}"; do [[ ! -e $u ]] || die "dpkg -r left $u"; done
[[ -f /etc/logcollect/agent.yaml ]] || die "dpkg -r removed the configs (only --purge should)"
dpkg --purge logcollect >/dev/null || die "dpkg --purge failed"
trap - EXIT
for p in /etc/logcollect /var/lib/logcollect; do [[ ! -e $p ]] || die "dpkg --purge left $p"; done
! dpkg -s logcollect >/dev/null 2>&1 || die "still installed after --purge"
echo "package-test: ok ($deb installed, verified, removed and purged)"
