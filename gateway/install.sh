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
  rm -f /etc/systemd/system/podgate.service /etc/sysctl.d/99-podgate.conf /etc/iproute2/rt_protos.d/podgate.conf \
    /etc/systemd/system/podgate.service.d/no-addon.conf
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
# The native addon: TCP-MD5/GTSM sockets and sd_notify (the unit is Type=notify). node-gyp is a
# dev dependency (not installed by --omit=dev): run the pinned version, the latest needs Node 22.
dropin=/etc/systemd/system/podgate.service.d
addon_ok=0
if [ -f "$prefix/native/tcpsock/binding.gyp" ]; then
  gyp_version=$(cd "$prefix" && node -p "require('./package.json').devDependencies['node-gyp']")
  if (cd "$prefix" && npx --yes "node-gyp@$gyp_version" rebuild -C native/tcpsock); then
    addon_ok=1
  fi
fi
if [ "$addon_ok" -eq 1 ]; then
  rm -f "$dropin/no-addon.conf"
else
  # Without the addon the daemon cannot send READY=1: run as Type=simple rather than time out.
  echo "warning: native addon not built: TCP-MD5 peers will not work, and the unit runs as Type=simple" >&2
  install -d -m 0755 "$dropin"
  printf '[Service]\nType=simple\nWatchdogSec=0\n' > "$dropin/no-addon.conf"
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
