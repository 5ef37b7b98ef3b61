#!/usr/bin/env bash
# Installs podgate on a gateway VM (idempotent): user, directories, code in /opt/podgate,
# config from the example (never overwritten), sysctl drop-in, systemd unit.
#   gateway/install.sh              install or upgrade
#   gateway/install.sh --uninstall  remove the unit, code and user (keeps /etc/podgate)
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/podgate

if [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root" >&2; exit 1; fi

if [ "${1:-}" = "--uninstall" ]; then
  systemctl disable --now podgate.service 2>/dev/null || true
  rm -f /etc/systemd/system/podgate.service /etc/sysctl.d/99-podgate.conf /etc/iproute2/rt_protos.d/podgate.conf
  systemctl daemon-reload 2>/dev/null || true
  rm -rf "$prefix"
  id podgate >/dev/null 2>&1 && userdel podgate
  echo "podgate removed (configuration kept in /etc/podgate)"
  exit 0
fi

command -v node >/dev/null || { echo "install.sh: Node.js >= 20 is required" >&2; exit 1; }
id podgate >/dev/null 2>&1 || useradd --system --home-dir /var/lib/podgate --shell /usr/sbin/nologin podgate
install -d -m 0750 -o root -g podgate /etc/podgate
install -d -m 0755 "$prefix"
cp -a "$src/package.json" "$src/package-lock.json" "$src/bin" "$src/src" "$src/docs" "$prefix/"
[ -d "$src/native" ] && cp -a "$src/native" "$prefix/"
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund)
if [ -f "$prefix/native/tcpsock/binding.gyp" ]; then
  (cd "$prefix" && npx --yes node-gyp rebuild -C native/tcpsock) || echo "warning: TCP-MD5 addon not built; MD5 peers will not work"
fi
if [ ! -f /etc/podgate/podgate.yaml ]; then
  install -m 0640 -o root -g podgate "$src/gateway/podgate.example.yaml" /etc/podgate/podgate.yaml
  echo "wrote /etc/podgate/podgate.yaml from the example: edit it, then: systemctl restart podgate"
fi
install -m 0644 "$src/gateway/99-podgate.conf" /etc/sysctl.d/99-podgate.conf
# Name podgate's route protocol so `ip route` prints "proto podgate" (dataplane.protocol, default 201).
install -d -m 0755 /etc/iproute2/rt_protos.d
echo "201 podgate" > /etc/iproute2/rt_protos.d/podgate.conf
sysctl --system >/dev/null || true
install -m 0644 "$src/gateway/podgate.service" /etc/systemd/system/podgate.service
systemctl daemon-reload
systemctl enable podgate.service
echo "podgate installed; start with: systemctl start podgate; check with: $prefix/bin/podgate.js status"
