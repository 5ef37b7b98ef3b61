#!/usr/bin/env bash
# Installs the Debian packages podgate's tests and demo use (BGP daemons for interop,
# iproute2 for namespaces, a compiler for the TCP-MD5 addon, systemd-analyze and shellcheck for
# the gateway/ file checks). Idempotent; needs root.
set -euo pipefail
pkgs=(bird2 frr gobgpd openbgpd exabgp iproute2 iputils-ping nftables wireguard-tools wireguard-go
  tcpdump iperf3 curl procps psmisc python3 make g++ ca-certificates systemd shellcheck util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian starts the daemons it installs where it can; the tests run their own instances.
for svc in bird frr gobgpd openbgpd exabgp; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done
# OpenBGPD's session engine chroots here and dies without it.
mkdir -p /run/openbgpd
