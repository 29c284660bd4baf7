#!/usr/bin/env bash
# Installs the Debian packages that `make test` and `make demo` need (chromium
# for the status page's browser test), only
# those that are missing. Needs root (or sudo) the first time.
set -euo pipefail

need=()
command -v prometheus   >/dev/null 2>&1 || need+=(prometheus)
command -v promtool     >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v amtool       >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v nft          >/dev/null 2>&1 || need+=(nftables)
command -v ip           >/dev/null 2>&1 || need+=(iproute2)
# PostgreSQL server binaries for the receiver's PostgreSQL store tests
# (internal/pgtest runs initdb and pg_ctl from /usr/lib/postgresql/*/bin).
compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || need+=(postgresql)
# The receiver's status page is tested in a real headless browser.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The Debian packages start their services on install; the project runs its
# own instances, so keep the packaged ones from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
