# Shared helpers for the image recipes (sourced, not run).
# Every image lives in $IMAGES/<name>-<hash>/ where <hash> covers the recipe files that make it; a directory
# that exists is complete: builds happen in a temp dir on the same filesystem and are renamed into place.

IMAGES=${UNDERSTUDY_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/understudy/images}
VM_IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf 'vm-images: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# recipe_hash FILE_OR_DIR... : 16 hex of sha256 over (relative path, content) of every file, sorted.
recipe_hash() {
  (cd "$VM_IMAGES_DIR" && find "$@" -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# image_dir NAME : the cache directory of an image, built or not.
image_dir() {
  local name=$1
  case $name in
    base) echo "$IMAGES/base-$(recipe_hash base)" ;;
    mirror) echo "$IMAGES/mirror-$(recipe_hash mirror hello-service hello-daemon)" ;;
    demo-host) echo "$IMAGES/demo-host-$(recipe_hash base demo-host mirror hello-service hello-daemon)" ;;
    stock-host) echo "$IMAGES/stock-host-$(recipe_hash stock-host)" ;;
    *) die "unknown image '$name' (base, mirror, demo-host, stock-host)" ;;
  esac
}

# remove_build_dir DIR : unmounts what a chroot step left mounted under DIR, then deletes it without ever
# crossing into another filesystem (a bind-mounted /dev must never be emptied).
remove_build_dir() {
  local dir=$1 m
  for m in $(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$dir"
}

# build_atomically NAME RECIPE_FN : runs RECIPE_FN TMPDIR unless the image exists, then renames TMPDIR.
build_atomically() {
  local name=$1 fn=$2 dir tmp start
  dir=$(image_dir "$name")
  if [ -d "$dir" ]; then say "$name: cached ($dir)"; return 0; fi
  mkdir -p "$IMAGES"
  # Leftovers of an interrupted build of any version of this image.
  for tmp in "$IMAGES/.tmp-$name-"*; do [ -e "$tmp" ] && remove_build_dir "$tmp"; done
  tmp=$(mktemp -d "$IMAGES/.tmp-$name-XXXXXX")
  chmod 0755 "$tmp"
  # shellcheck disable=SC2064
  trap "remove_build_dir '$tmp'" EXIT
  start=$(date +%s)
  say "$name: building into $dir"
  "$fn" "$tmp"
  sync -f "$tmp" 2>/dev/null || sync
  mv -T "$tmp" "$dir"
  trap - EXIT
  say "$name: built in $(( $(date +%s) - start )) s"
}

# in_chroot TREE CMD... : runs CMD inside TREE with /proc, /sys, /dev mounted and no service starts.
in_chroot() {
  local tree=$1; shift
  mount -t proc proc "$tree/proc"
  mount -t sysfs sysfs "$tree/sys"
  mount --bind /dev "$tree/dev"
  local rc=0
  DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$tree" "$@" || rc=$?
  umount "$tree/dev" "$tree/sys" "$tree/proc"
  return $rc
}

# debian_mirror_url [SUITE] : the Debian archive this machine's apt uses (deb822 .sources or one-line .list).
debian_mirror_url() {
  local f url suite=${1:-bookworm}
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    url=$(awk '
      /^[[:space:]]*$/ { if (ok && uri != "") { print uri; exit } ok = 0; uri = ""; next }
      /^Enabled:[[:space:]]*no/ { ok = 0; uri = ""; skip = 1 }
      /^Types:/ { ok = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
      /^Suites:/ { if ($0 !~ "[[:space:]]" suite "([[:space:]]|$)") ok = 0 }
      /^URIs:/ { uri = $2 }
      END { if (ok && uri != "") print uri }' suite="$suite" "$f" | head -n1)
    [ -n "$url" ] && { echo "$url"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    url=$(sed -n -E "s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z]+:[^[:space:]]+)[[:space:]]+$suite[[:space:]].*/\2/p" "$f" | head -n1)
    [ -n "$url" ] && { echo "$url"; return 0; }
  done
  return 1
}

# debian_security_url : the Debian security archive this machine's apt uses (bookworm-security).
debian_security_url() { debian_mirror_url bookworm-security; }
