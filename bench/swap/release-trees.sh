#!/usr/bin/env bash
# The "release" swap bench's two trees: a stock Debian 12 root (debootstrap minbase + openssh-server,
# systemd-sysv and the cloud kernel, from the real archive this machine's apt uses) and the same root
# upgraded to Debian 13 in a chroot (sources bookworm -> trixie, apt-get full-upgrade), as an operator
# would (the downloaded packages stay in var/cache/apt/archives, as apt-get leaves them). Cached in $CACHE/release-<hash of this file>/{bookworm,trixie} (a directory that exists is
# complete: built in a temp dir next to it, renamed into place).
#   release-trees.sh [CACHE]   prints the cache directory of the trees on stdout
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../vm-images/lib.sh
. "$here/../../vm-images/lib.sh"
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/understudy/bench}
out=$cache/release-$(sha256sum "$here/release-trees.sh" | cut -c1-16)
if [ -d "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.release.lock"
flock 9
if [ -d "$out" ]; then echo "$out"; exit 0; fi
for old in "$cache"/.tmp-release-*; do [ -e "$old" ] && remove_build_dir "$old"; done
tmp=$(mktemp -d "$cache/.tmp-release-XXXXXX")
trap 'remove_build_dir "$tmp"' EXIT
url=$(debian_mirror_url) || die "no enabled Debian bookworm source in /etc/apt/sources.list(.d)"

chroot_apt() { # TREE ARGS...: apt-get in the tree, no service started, /proc mounted for the run
  local tree=$1; shift
  printf '#!/bin/sh\nexit 101\n' > "$tree/usr/sbin/policy-rc.d"; chmod 755 "$tree/usr/sbin/policy-rc.d"
  mount -t proc proc "$tree/proc"
  local rc=0
  chroot "$tree" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 apt-get -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >>"$tmp/apt.log" 2>&1 || rc=$?
  umount "$tree/proc"
  rm -f "$tree/usr/sbin/policy-rc.d"
  [ "$rc" = 0 ] || { tail -n 40 "$tmp/apt.log" >&2; die "apt-get $* failed in $tree"; }
}

say "release bench: debootstrap bookworm (minbase + openssh-server, systemd-sysv, kernel)"
t0=$(date +%s)
debootstrap --variant=minbase --include=openssh-server,systemd-sysv,linux-image-cloud-amd64,initramfs-tools \
  bookworm "$tmp/bookworm" "$url" >"$tmp/debootstrap.log" 2>&1 || { tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
chroot_apt "$tmp/bookworm" clean
say "release bench: bookworm in $(( $(date +%s) - t0 )) s; upgrading a copy to trixie"
t0=$(date +%s)
cp -a "$tmp/bookworm" "$tmp/trixie"
sed -i 's/\bbookworm\b/trixie/g' "$tmp/trixie/etc/apt/sources.list"
chroot_apt "$tmp/trixie" update
chroot_apt "$tmp/trixie" full-upgrade
say "release bench: trixie in $(( $(date +%s) - t0 )) s"
rm -f "$tmp/bookworm/debootstrap/"* 2>/dev/null || true
sync -f "$tmp" 2>/dev/null || sync
mv -T "$tmp" "$out"
trap - EXIT
echo "$out"
