#!/usr/bin/env bash
# Installs everything knetlab needs on a fresh Debian 12 / Ubuntu 24.04 machine, then installs
# the npm dependencies and builds. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh installs system packages: run it as root (sudo ./scripts/setup.sh)" >&2
  exit 2
fi

# One package per tool knetlab drives (see "knetlab doctor").
PACKAGES=(
  iproute2 iptables ipset ipvsadm nftables conntrack procps kmod
  nginx-light libnginx-mod-stream curl iputils-ping netcat-openbsd socat tcpdump dnsutils dnsmasq-base iperf3
  bird2 containernetworking-plugins iputils-arping
  openssl sudo ca-certificates
  # The kernel VM runner (knetlab vm), for labs that need a module this kernel lacks.
  qemu-system-x86 busybox-static xz-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing nginx would start a system nginx on port 80; knetlab runs its own nginx per
  # namespace and needs none. Keep package scripts from starting services while we install.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if printf '%s\n' "${missing[@]}" | grep -qx nginx-light && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# Node.js >= 20.19 (Debian 12 and Ubuntu 24.04 ship older ones).
node_ok() {
  command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok; then
  echo "setup: installing Node.js 20 from NodeSource"
  apt-get install -y -qq --no-install-recommends curl gnupg ca-certificates >/dev/null
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash - >/dev/null
  apt-get install -y -qq nodejs >/dev/null
  node_ok || { echo "setup: Node.js >= 20.19 is still missing" >&2; exit 1; }
fi

# The VM runner's kernel: Debian's linux-image-amd64, downloaded and unpacked into a cache folder
# (never installed; this machine's own kernel and /boot are untouched).
bash scripts/vm/fetch-kernel.sh

# Dependencies exactly as locked, then the build.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
echo "setup: done. Try: sudo npx knetlab doctor"
