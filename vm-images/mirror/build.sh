# Recipe "mirror": a flat apt repository (the demo host's deb [trusted=yes] http://demo-repo.understudy.invalid/ ./,
# served by understudy's repository proxy from this directory with --mirror DIR) holding hello-service
# 1.0, 2.0 and 3.0, hello-daemon 1.0, and a second real Debian kernel (the newest bookworm-backports cloud
# kernel: a newer version than the demo host's, for the reboot rehearsal), with Packages, Packages.gz and an
# unsigned Release. Sourced by ../build.sh; builds into $1.
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

# fetch_backports_kernel OUT : the newest linux-image-*-cloud-amd64 of bookworm-backports, downloaded and
# verified by apt (the archive's signed Release) from the archive this machine's apt sources name, into OUT;
# OUT/backports-kernel.txt says "PACKAGE VERSION UNAME_R". Only the versioned image package: no
# metapackage, so an `apt-get upgrade` in the demo host never picks it up by itself.
fetch_backports_kernel() {
  local out=$1 url apt pkg version
  url=$(debian_mirror_url) || die "no enabled Debian bookworm source in /etc/apt/sources.list(.d)"
  apt=$(mktemp -d)
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $url bookworm-backports main" >"$apt/sources.list"
  local -a opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  apt-get -q "${opts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; rm -rf "$apt"; die "apt-get update of bookworm-backports failed"; }
  pkg=$(apt-cache "${opts[@]}" depends --no-recommends --no-suggests linux-image-cloud-amd64 |
    sed -n -E 's/^ *Depends: (linux-image-[0-9][^ ]*-cloud-amd64)$/\1/p' | head -n1)
  [ -n "$pkg" ] || { rm -rf "$apt"; die "bookworm-backports has no linux-image-cloud-amd64 to take a kernel from"; }
  version=$(apt-cache "${opts[@]}" show "$pkg" | sed -n 's/^Version: //p' | head -n1)
  (cd "$out" && apt-get -q "${opts[@]}" download "$pkg" >/dev/null) || { rm -rf "$apt"; die "apt-get download $pkg failed"; }
  echo "$pkg $version ${pkg#linux-image-}" >"$out/backports-kernel.txt"
  say "mirror: $pkg $version from bookworm-backports"
  rm -rf "$apt"
}

# hello-daemon: a service its package enables through deb-systemd-helper, as dh_installsystemd does (the
# state under /var/lib/systemd/deb-systemd-helper-enabled must reach the host with the unit's links).
build_hello_daemon_deb() {
  local out=$1 root
  root=$(mktemp -d)
  chmod 0755 "$root" # the package's ./ entry
  install -d "$root/DEBIAN" "$root/lib/systemd/system"
  install -m 0644 "$VM_IMAGES_DIR/hello-daemon/hello-daemon.service" "$root/lib/systemd/system/"
  install -m 0755 "$VM_IMAGES_DIR/hello-daemon/postinst" "$VM_IMAGES_DIR/hello-daemon/prerm" "$VM_IMAGES_DIR/hello-daemon/postrm" "$root/DEBIAN/"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: hello-daemon
Version: 1.0
Architecture: all
Maintainer: understudy demo <demo@localhost>
Depends: systemd, init-system-helpers
Section: misc
Priority: optional
Description: understudy's demo daemon, enabled by deb-systemd-helper
 Sleeps; its package enables it the way dh_installsystemd does.
CONTROL
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/hello-daemon_1.0_all.deb" >/dev/null
  rm -rf "$root"
}

build_mirror() {
  local out=$1 version healthy
  while read -r version healthy; do
    case $version in ''|'#'*) continue ;; esac
    build_hello_service_deb "$version" "$healthy" "$out"
  done <"$VM_IMAGES_DIR/hello-service/releases.txt"
  fetch_backports_kernel "$out"
  build_hello_daemon_deb "$out"
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
