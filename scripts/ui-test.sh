#!/usr/bin/env bash
# `make ui-test`: the web UI's tests. First the node unit tests of the client logic
# (web/test), then the browser test (test/ui): playwright-core driving Debian's chromium
# against a real `logcollect standalone`, then the same steps against `logcollect server` over
# the real services (started here when not running: scripts/services.sh). Installs what is missing: node/npm and chromium
# from Debian (as root), playwright-core pinned by test/ui/package-lock.json.
# Screenshots of each step land in test/ui/artifacts/ (the server's in artifacts/server/;
# git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "ui-test: $* missing; install it (Debian: apt-get install $*) or run as root" >&2
    exit 1
  fi
  echo "ui-test: installing $* from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
command -v chromium >/dev/null || apt_install chromium

# npm ci (which deletes and reinstalls) only when the pinned playwright-core is not there.
want=$(node -p 'require("./test/ui/package.json").devDependencies["playwright-core"]')
have=$(node -p 'try { require("./test/ui/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  (cd test/ui && npm ci --no-audit --no-fund --loglevel=error)
fi

"${MAKE:-make}" -s build

echo "ui-test: client unit tests (node --test web/test)" >&2
node --test web/test/

echo "ui-test: browser test (test/ui/e2e.test.mjs)" >&2
LOGCOLLECT_BIN="$PWD/bin/logcollect" CHROMIUM="$(command -v chromium)" \
  node --test --test-timeout=150000 test/ui/e2e.test.mjs

echo "ui-test: browser test against logcollect server over the real services (UI_BACKEND=server)" >&2
scripts/services.sh up
UI_BACKEND=server LOGCOLLECT_BIN="$PWD/bin/logcollect" CHROMIUM="$(command -v chromium)" \
  node --test --test-timeout=150000 test/ui/e2e.test.mjs
