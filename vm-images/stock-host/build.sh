# Recipe "stock-host": a Debian 12 server as a user has it, for proving understudy on a real host. Nothing of
# understudy's in it: its apt sources name the real Debian archive as the installer writes them (main,
# security, updates; the security archive over https), its own host name, machine-id and SSH host keys, one
# ordinary service (cron) for health checks, and root's authorized key (the operator's access; the private
# key stays in the cache). The archive is the one this machine's apt sources name, read at build time.
# The CA certificates this machine trusts locally (/usr/local/share/ca-certificates) are trusted there too,
# as on any host of a network whose egress inspects TLS; without such a network there are none to copy.
# Output ($1): root.img (raw ext4, 3G sparse: room for a release upgrade), vmlinuz, initrd.img, id_ed25519.
# Sourced by ../build.sh.
STOCK_HOST_DISK_SIZE=3G

build_stock_host() {
  local out=$1 tree=$1/tree url security include uuid
  url=$(debian_mirror_url) || die "no enabled Debian bookworm source in /etc/apt/sources.list(.d)"
  security=$(debian_security_url) || security=${url%/debian}/debian-security
  include=$(grep -v '^#' "$VM_IMAGES_DIR/stock-host/packages.txt" | sed '/^$/d' | paste -sd, -)
  mkdir -p "$tree"
  say "stock-host: debootstrap bookworm (minbase + $include)"
  debootstrap --variant=minbase --include="$include" bookworm "$tree" "$url" >"$out/debootstrap.log" 2>&1 ||
    { tail -n 30 "$out/debootstrap.log" >&2; die "debootstrap failed"; }

  # what the Debian installer writes (one-line format); the security archive over https, as many hosts have it
  cat >"$tree/etc/apt/sources.list" <<SOURCES
deb ${url%/}/ bookworm main non-free-firmware
deb https://${security#*://} bookworm-security main non-free-firmware
deb ${url%/}/ bookworm-updates main non-free-firmware
SOURCES
  rm -f "$tree/etc/apt/sources.list.d/"*
  echo web1 >"$tree/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tweb1.example.net web1\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$uuid" >"$tree/etc/fstab"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$tree/etc/systemd/network/50-dhcp.network"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$tree/etc/machine-id"; echo >>"$tree/etc/machine-id"

  ssh-keygen -q -t ed25519 -N '' -C stock-host-operator -f "$out/id_ed25519"
  install -d -m 0700 "$tree/root/.ssh"
  install -m 0600 "$out/id_ed25519.pub" "$tree/root/.ssh/authorized_keys"
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$tree/usr/local/share/ca-certificates/"
  fi

  printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"; chmod 0755 "$tree/usr/sbin/policy-rc.d"
  in_chroot "$tree" sh -ec '
    update-ca-certificates >/dev/null
    systemctl enable systemd-networkd.service cron.service >/dev/null 2>&1
    systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
    apt-get clean'
  rm -f "$tree/usr/sbin/policy-rc.d"
  rm -rf "$tree/var/lib/apt/lists/"*_Packages "$tree/var/cache/apt/"*.bin

  cp "$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -n1)" "$out/vmlinuz"
  cp "$(ls "$tree"/boot/initrd.img-* | sort -V | tail -n1)" "$out/initrd.img"
  mkfs.ext4 -q -L root -U "$uuid" -d "$tree" "$out/root.img" "$STOCK_HOST_DISK_SIZE"
  rm -rf "$tree"
}
