#!/usr/bin/env bash
# Installs the host packages shoal needs. Idempotent; fast (no network) when nothing is missing.
# Used by `npm start` and `npm test`. Needs root when something must be installed.
set -euo pipefail

# command -> Debian package
declare -A need=(
  [runc]=runc
  [crun]=crun
  [conmon]=conmon
  [ip]=iproute2
  [bridge]=iproute2
  [iptables]=iptables
  [nft]=nftables
  [nsenter]=util-linux
  [skopeo]=skopeo
  [umoci]=umoci
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [socat]=socat
  [curl]=curl
  [ping]=iputils-ping
  [setfattr]=attr
  [docker-registry]=docker-registry
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ ! -f /usr/share/doc/busybox-static/copyright ]; then missing+=(busybox-static); fi

if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" != 0 ]; then
    echo "shoal: missing host packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "shoal: installing host packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node modules
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$here/node_modules/.bin/tsc" ]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund)
fi
