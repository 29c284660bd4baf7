#!/usr/bin/env bash
# Installs what `make test` and `make demo` need, only what is missing:
#
# - Debian packages: prometheus (2.42 on bookworm, with promtool),
#   prometheus-alertmanager (0.25, with amtool), nftables, iproute2,
#   postgresql (a private cluster per test run), chromium (the status page's
#   browser test). Needs
#   root (or sudo) the first time.
# - Prometheus 3 (prometheus, promtool) and a current Alertmanager
#   (alertmanager, amtool), pinned in deploy/versions.env and built with
#   `go install` into .tools/<name>-<version>/ of the repository (ignored by
#   git; DOWNTIME_TOOLS overrides the directory). A binary already built at
#   the pinned version is kept, so a re-run costs nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
. "$repo/deploy/versions.env"
tools=${DOWNTIME_TOOLS:-$repo/.tools}

debian() {
  local need=()
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
  [ ${#need[@]} -eq 0 ] && return 0

  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # The Debian packages start their services on install; the project runs its
  # own instances, so keep the packaged ones from starting.
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    policy=/usr/sbin/policy-rc.d
  fi
  local rc=0
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || rc=$?
  [ -n "$policy" ] && $sudo rm -f "$policy"
  return $rc
}

# built DIR VERSION BIN... succeeds when every BIN in DIR reports VERSION.
built() {
  local dir=$1 version=$2 bin
  shift 2
  for bin in "$@"; do
    [ -x "$dir/$bin" ] || return 1
    "$dir/$bin" --version 2>&1 | grep -q "version $version " || return 1
  done
}

# goinstall NAME VERSION MODULE MODVERSION TAGS CMD... builds
# MODULE/cmd/CMD@MODVERSION with build TAGS into $tools/NAME-VERSION, with
# VERSION stamped where --version and the build info API read it.
goinstall() {
  local name=$1 version=$2 module=$3 modversion=$4 tags=$5
  shift 5
  local dir=$tools/$name-$version
  built "$dir" "$version" "$@" && return 0
  command -v go >/dev/null 2>&1 || { echo "install-deps: go is needed to build $name $version" >&2; return 1; }
  echo "building $name $version ($*) with go install into $dir (minutes the first time)"
  local pkgs=() cmd
  for cmd in "$@"; do pkgs+=("$module/cmd/$cmd@$modversion"); done
  mkdir -p "$dir"
  GOBIN=$dir go install -tags "$tags" \
    -ldflags "-X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Branch=go-install" \
    "${pkgs[@]}"
  built "$dir" "$version" "$@" || { echo "install-deps: $dir: built binaries do not report version $version" >&2; return 1; }
}

debian
# remove_all_sd leaves out the cloud service discoveries (AWS, Azure, GCE,
# Kubernetes, ...: most of the compile time); static_configs, file_sd and
# http_sd remain, which is all this project's configs use.
goinstall prometheus "$PROMETHEUS3_VERSION" github.com/prometheus/prometheus "$PROMETHEUS3_MODULE_VERSION" \
  remove_all_sd prometheus promtool
goinstall alertmanager "$ALERTMANAGER_NEW_VERSION" github.com/prometheus/alertmanager "$ALERTMANAGER_NEW_MODULE_VERSION" \
  "" alertmanager amtool
