# Recipe "demo-host": the base tree configured as understudy's demo host, then packed as a raw ext4 disk.
# Output ($1): root.img (raw ext4, the guest's /dev/vda), tree/ (the same files, for `dir:` targets),
# vmlinuz + initrd.img, id_ed25519 (+ .pub: root's login key; the private key never leaves the cache).
# Sourced by ../build.sh.
DEMO_HOST_DISK_SIZE=1500M

build_demo_host() {
  local out=$1 tree=$1/tree base mirror
  base=$(image_dir base); mirror=$(image_dir mirror)
  mkdir -p "$tree"
  tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$tree" -xpf "$base/rootfs.tar"
  cp -r "$VM_IMAGES_DIR/demo-host/files/." "$tree/"

  echo demo-host >"$tree/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tdemo-host\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
  printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n' >"$tree/etc/fstab"
  # Its repository has a name like any host's (reserved .invalid: it resolves nowhere). understudy's
  # repository proxy answers that name from the mirror image (--mirror DIR); nothing here points at a proxy.
  # main/adapters/qemu/image-cache.ts DEMO_REPO_URI is the same URI.
  echo 'deb [trusted=yes] http://demo-repo.understudy.invalid/ ./' >"$tree/etc/apt/sources.list"
  rm -f "$tree/etc/apt/sources.list.d/"*
  : >"$tree/etc/machine-id"   # regenerated on first boot

  ssh-keygen -q -t ed25519 -N '' -C understudy-demo -f "$out/id_ed25519"
  install -d -m 0700 "$tree/root/.ssh"
  install -m 0600 "$out/id_ed25519.pub" "$tree/root/.ssh/authorized_keys"

  printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"; chmod 0755 "$tree/usr/sbin/policy-rc.d"
  cp "$mirror/hello-service_1.0_all.deb" "$tree/tmp/"
  in_chroot "$tree" sh -ec '
    systemctl enable systemd-networkd.service >/dev/null 2>&1
    systemctl mask apt-daily.timer apt-daily-upgrade.timer systemd-networkd-wait-online.service >/dev/null 2>&1
    dpkg -i /tmp/hello-service_1.0_all.deb >/dev/null
    apt-get clean'
  rm -f "$tree/usr/sbin/policy-rc.d" "$tree/tmp/hello-service_1.0_all.deb"
  rm -rf "$tree/var/lib/apt/lists/"*

  cp "$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -n1)" "$out/vmlinuz"
  cp "$(ls "$tree"/boot/initrd.img-* | sort -V | tail -n1)" "$out/initrd.img"
  mkfs.ext4 -q -L demo-root -d "$tree" "$out/root.img" "$DEMO_HOST_DISK_SIZE"
}
