# Recipe "base": a debootstrapped Debian 12 minbase tree with sshd, systemd and the cloud kernel, as a tarball.
# Kept apart from demo-host so a change to the demo host's configuration does not redo the download.
# Sourced by ../build.sh; builds into $1.
build_base() {
  local out=$1 url tree include
  url=$(debian_mirror_url) || die "no enabled Debian bookworm source in /etc/apt/sources.list(.d)"
  include=$(grep -v '^#' "$VM_IMAGES_DIR/base/packages.txt" | sed '/^$/d' | paste -sd, -)
  tree=$out/tree
  mkdir -p "$tree"
  say "base: debootstrap bookworm (minbase + $include)"
  debootstrap --variant=minbase --include="$include" bookworm "$tree" "$url" >"$out/debootstrap.log" 2>&1 ||
    {
      cat "$tree/debootstrap/debootstrap.log" >>"$out/debootstrap.log" 2>/dev/null || true
      cp "$out/debootstrap.log" "$IMAGES/base-failed.log"
      tail -n 30 "$out/debootstrap.log" >&2; die "debootstrap failed (log kept in $IMAGES/base-failed.log)"; }
  rm -rf "$tree/var/cache/apt/archives/"*.deb "$tree/var/lib/apt/lists/"*_Packages
  tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$tree" -cf "$out/rootfs.tar" .
  rm -rf "$tree"
}
