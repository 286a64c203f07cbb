# understudy probe: the host as it is now, for the paths a swap touches, on hosts without Node.
# Runs as   env UNDERSTUDY_PROBE="<this script>" sh -c "<this script>" probe MODE   with absolute paths,
# NUL-separated, on stdin (raw bytes: no quoting issue). xargs runs the batches one after another, and each
# batch is a few processes whatever its size (shell builtins sort the paths; one stat, sha256sum, readlink
# or find takes them all), so a release upgrade's tens of thousands of paths cost tens of processes:
#   stat      '%f %u %g %.9Y %s %h %t %T %n' of each path that exists (lstat), NUL-terminated, in input
#             order; a path left out does not exist (the name in each record keeps the two aligned)
#   hash      sha256sum's lines (a name with a newline or backslash comes escaped, the line led by '\')
#   link      the symlink targets, NUL-terminated        children  (start dir, name) NUL-terminated pairs
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
    for p; do if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\000' "$p"; fi; done \
      | LC_ALL=C xargs -0 -r stat --printf '%f %u %g %.9Y %s %h %t %T %n\000' -- || exit 2 ;;
  each-hash) shift; sha256sum -- "$@" || exit 2 ;;
  each-link) shift; readlink -z -- "$@" || exit 2 ;;
  each-children) shift; find "$@" -mindepth 1 -maxdepth 1 -printf '%H\000%f\000' || exit 2 ;;
  *) echo "probe: unknown mode $mode" >&2; exit 2 ;;
esac
