#!/usr/bin/env bash
# Set-up shared by `npm start` and `npm test`: Debian packages, npm dependencies, libvirtd, VM images.
# Idempotent and quick when everything is already there. Usage: setup.sh start|test
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
say() { printf 'understudy setup: %s\n' "$*" >&2; }

# 1. Debian packages
mapfile -t pkgs < <(grep -v '^#' scripts/debian-packages.txt | sed '/^$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; else
    say "missing Debian packages; run this as root (or with sudo), then try again:"
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  # no service of these packages may start on its own (sshd would listen on every address): the tests
  # start their own daemons, on loopback or in private namespaces
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
  fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
fi

# 2. VM images (built once into the cache, keyed by recipe hash): plain shell, so a cold build (debootstrap,
#    mostly waiting on downloads) runs beside `npm ci` (mostly compiling native addons)
images_log=$(mktemp)
images_pid=
if [ -x vm-images/build.sh ]; then
  bash vm-images/build.sh all >"$images_log" 2>&1 &
  images_pid=$!
  # a failing step below must not leave the build running on its own
  trap 'if [ -n "$images_pid" ]; then kill "$images_pid" 2>/dev/null || true; fi' EXIT
fi

# 3. npm dependencies: `npm ci` when node_modules is missing or older than the lockfile
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

# 4. libvirtd without systemd (see docs/troubleshooting.md); needs root, skipped otherwise
if [ "$(id -u)" = 0 ]; then
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  getent group libvirt >/dev/null || groupadd -r libvirt
  mkdir -p /var/log/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu /run/libvirt
  # /dev/kvm usable by the kvm group, libvirt-qemu in it: else libvirtd re-probes QEMU at every domain
  # start (50-70 s each)
  getent group kvm >/dev/null || groupadd -r kvm
  if [ -e /dev/kvm ]; then chgrp kvm /dev/kvm && chmod 660 /dev/kvm || true; fi
  id -nG libvirt-qemu | grep -qw kvm || usermod -aG kvm libvirt-qemu
  # domains log through virtlogd
  pgrep -x virtlogd >/dev/null || virtlogd -d
  if ! virsh -c qemu:///system version >/dev/null 2>&1; then
    say "starting libvirtd"
    libvirtd -d >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
  fi
fi

# 5. wait for the images
if [ -n "$images_pid" ]; then
  if ! wait "$images_pid"; then cat "$images_log" >&2; rm -f "$images_log"; say "building the VM images failed (above)"; exit 1; fi
  cat "$images_log" >&2
  images_pid=
fi
rm -f "$images_log"
