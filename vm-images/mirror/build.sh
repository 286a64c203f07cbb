# Recipe "mirror": a flat apt repository (the demo host's deb [trusted=yes] http://demo-repo.understudy.invalid/ ./,
# served by understudy's repository proxy from this directory with --mirror DIR) holding hello-service
# 1.0, 2.0 and 3.0, with Packages, Packages.gz and an unsigned Release. Sourced by ../build.sh; builds into $1.
build_hello_service_deb() {
  local version=$1 healthy=$2 out=$3 root
  root=$(mktemp -d)
  install -d "$root/DEBIAN" "$root/usr/lib/hello-service" "$root/lib/systemd/system"
  sed -e "s/@VERSION@/$version/" -e "s/@HEALTHY@/$healthy/" "$VM_IMAGES_DIR/hello-service/handler.sh" \
    >"$root/usr/lib/hello-service/handler"
  chmod 0755 "$root/usr/lib/hello-service/handler"
  install -m 0644 "$VM_IMAGES_DIR/hello-service/hello-service.socket" "$VM_IMAGES_DIR/hello-service/hello-service@.service" \
    "$root/lib/systemd/system/"
  install -m 0755 "$VM_IMAGES_DIR/hello-service/postinst" "$VM_IMAGES_DIR/hello-service/prerm" \
    "$VM_IMAGES_DIR/hello-service/postrm" "$root/DEBIAN/"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: hello-service
Version: $version
Architecture: all
Maintainer: understudy demo <demo@localhost>
Depends: systemd
Section: misc
Priority: optional
Description: understudy's demo app
 Answers HTTP on 127.0.0.1:8080: /version and /health.
CONTROL
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/hello-service_${version}_all.deb" >/dev/null
  rm -rf "$root"
}

build_mirror() {
  local out=$1 version healthy
  while read -r version healthy; do
    case $version in ''|'#'*) continue ;; esac
    build_hello_service_deb "$version" "$healthy" "$out"
  done <"$VM_IMAGES_DIR/hello-service/releases.txt"
  (cd "$out" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages && gzip -9kn Packages)
  {
    echo "Origin: understudy"
    echo "Label: understudy demo mirror"
    echo "Suite: demo"
    echo "Codename: demo"
    echo "Date: $(LC_ALL=C date -u -R)"
    echo "Architectures: amd64 all"
    echo "SHA256:"
    for f in Packages Packages.gz; do
      printf ' %s %s %s\n' "$(sha256sum "$out/$f" | cut -d' ' -f1)" "$(stat -c %s "$out/$f")" "$f"
    done
  } >"$out/Release"
}
