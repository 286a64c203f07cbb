# understudy probe: the host as it is now, for the paths a swap touches, on hosts without Node.
# Runs as   env UNDERSTUDY_PROBE="<this script>" sh -c "<this script>" probe MODE   with absolute paths,
# NUL-separated, on stdin (raw bytes: no quoting issue). Each MODE answers one line/record per path, in
# input order (xargs runs its batches one after another), so no path is ever echoed back or escaped:
#   stat      '%f %u %g %.9Y %s %h %t %T' (GNU stat) or 'none' when the path does not exist
#   hash      sha256 hex                  link  the symlink target, NUL-terminated
#   children  the names in the directory, each NUL-terminated, then an empty record
#   xattr     getfattr's dump (names are its own), nothing when getfattr is not installed
# Any other failure (permission, a path vanishing mid-probe) exits non-zero: never a silent 'absent'.
set -u
mode=$1
case $mode in
  stat | hash | link | children) exec xargs -0 -r sh -c "$UNDERSTUDY_PROBE" probe "each-$mode" ;;
  xattr)
    command -v getfattr >/dev/null 2>&1 || { echo 'getfattr not installed: xattrs not probed' >&2; exit 0; }
    exec xargs -0 -r getfattr -h -d -m - -e base64 --absolute-names -- ;;
  each-stat)
    shift
    for p; do
      if [ -e "$p" ] || [ -L "$p" ]; then LC_ALL=C stat --printf '%f %u %g %.9Y %s %h %t %T\n' -- "$p" || exit 2
      else echo none; fi
    done ;;
  each-hash) shift; for p; do h=$(sha256sum < "$p") || exit 2; echo "${h%% *}"; done ;;
  each-link) shift; for p; do readlink -n -- "$p" || exit 2; printf '\000'; done ;;
  each-children)
    shift
    for d; do find "$d" -mindepth 1 -maxdepth 1 -printf '%f\000' || exit 2; printf '\000'; done ;;
  *) echo "probe: unknown mode $mode" >&2; exit 2 ;;
esac
