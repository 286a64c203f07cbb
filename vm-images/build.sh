#!/usr/bin/env bash
# Builds the VM images understudy's demo and tests use, into a cache outside the repo, reusing what is there.
#   build.sh all            base, mirror, demo-host and stock-host (what setup.sh runs)
#   build.sh demo-host      the demo host (and what it needs)
#   build.sh stock-host     a stock Debian 12 server from the real archive (real-repository tests)
#   build.sh mirror         the local apt mirror with hello-service 1.0, 2.0, 3.0
#   build.sh path NAME      prints NAME's cache directory (exit 0 if built, 3 if not); builds nothing
#   build.sh prune          deletes cached versions the current recipes no longer produce
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/understudy/images/<name>-<hash of its recipe files>/
# (override with UNDERSTUDY_IMAGES). Building needs root (debootstrap, chroot, mkfs.ext4 -d).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/base/build.sh"
. "$here/mirror/build.sh"
. "$here/demo-host/build.sh"
. "$here/stock-host/build.sh"

need_root() {
  [ "$(id -u)" = 0 ] && return 0
  # Through sudo when it needs no password; the files a user's QEMU must read are then handed back to them.
  if sudo -n true 2>/dev/null; then exec sudo -n UNDERSTUDY_IMAGES="$IMAGES" bash "$0" "$@"; fi
  die "building images needs root (debootstrap, chroot); run as root or with sudo: sudo bash $0 $*"
}

# After a build through sudo: the invoking user owns the image files (not tree/, whose owners are the point).
give_back() {
  [ -n "${SUDO_UID:-}" ] || return 0
  local d
  chown "$SUDO_UID:$SUDO_GID" "$IMAGES" "$IMAGES/.build.lock"
  for d in "$(image_dir mirror)" "$(image_dir base)" "$(image_dir demo-host)" "$(image_dir stock-host)"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -exec chown "$SUDO_UID:$SUDO_GID" {} + || true
  done
}

case ${1:-} in base|demo-host|stock-host|all) need_root "$@" ;; esac

# One build at a time per cache (tests, setup.sh and people may start builds together): later ones wait,
# then find the images cached.
if [ "${1:-}" != path ]; then
  mkdir -p "$IMAGES"
  exec 9>"$IMAGES/.build.lock"
  flock 9
fi

case ${1:-} in
  path)
    [ -n "${2:-}" ] || die "usage: build.sh path base|mirror|demo-host|stock-host"
    dir=$(image_dir "$2"); echo "$dir"; [ -d "$dir" ] || exit 3 ;;
  base) build_atomically base build_base ;;
  mirror) build_atomically mirror build_mirror ;;
  demo-host|all)
    build_atomically mirror build_mirror
    build_atomically base build_base
    build_atomically demo-host build_demo_host
    if [ "$1" = all ]; then build_atomically stock-host build_stock_host; fi
    give_back ;;
  stock-host) build_atomically stock-host build_stock_host; give_back ;;
  prune)
    keep=" $(image_dir base) $(image_dir mirror) $(image_dir demo-host) $(image_dir stock-host) "
    for d in "$IMAGES"/base-* "$IMAGES"/mirror-* "$IMAGES"/demo-host-* "$IMAGES"/stock-host-*; do
      [ -d "$d" ] || continue
      case $keep in *" $d "*) ;; *) say "prune: $d"; remove_build_dir "$d" ;; esac
    done ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
