#!/bin/bash
# A pool member that shares nothing with the orchestrator but the kernel: PID 1 of its own PID, mount and
# network namespaces (started by pool-members.ts through `unshare --mount --net --pid --fork --mount-proc`).
# It runs its own virtlogd, libvirtd (no TCP listener: reached only through sshd) and sshd on its veth
# address. Private tmpfs over /run (= /var/run), /tmp, /root, /home, libvirt's state, cache, log and config
# directories, and over every path given with --hide (the orchestrator's store, image cache, checkout);
# the node binary is hidden too, so a guestfwd program that needs it fails. The member's work directory is
# a directory of the test's own, bind-mounted before /tmp is hidden (it survives a restart of the member).
#   pool-member.sh CONF_DIR ADDR WORK_DIR MEMBER_USER [--hide PATH]...
# CONF_DIR holds ssh_host_ed25519_key and authorized_keys (copied in before CONF_DIR is hidden).
# Prints "MEMBER-READY" once sshd and libvirtd answer. The parent sets up the veth pair first and then
# writes one line to our stdin.
set -euo pipefail
conf=$1 addr=$2 work=$3 user=$4
shift 4
hide=()
while [ $# -gt 0 ]; do
  case $1 in --hide) hide+=("$2"); shift 2 ;; *) echo "pool-member: unknown argument $1" >&2; exit 2 ;; esac
done

mount --make-rprivate /
# The work directory first (it lives under the test's temp dir, which is hidden below).
if ! { mkdir -p /srv/understudy-member && mount --bind "$work" /srv/understudy-member; } 2>/dev/null; then
  mount -t tmpfs tmpfs /srv && mkdir -p /srv/understudy-member && mount --bind "$work" /srv/understudy-member
fi
# A private /run (= /var/run) holding the member's own files, copied in before their source is hidden.
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/member /run/libvirt /run/sshd
cp "$conf/ssh_host_ed25519_key" "$conf/authorized_keys" /run/member/
chmod 600 /run/member/ssh_host_ed25519_key
chmod 644 /run/member/authorized_keys
# Its own accounts: private copies of passwd/group/shadow, with a user in group libvirt when asked.
cp /etc/passwd /etc/group /etc/shadow /run/member/
grep -q '^libvirt:' /run/member/group || echo 'libvirt:x:64120:' >>/run/member/group
if [ "$user" != root ]; then
  echo "$user:x:64123:64123::/home/$user:/bin/sh" >>/run/member/passwd
  echo "$user:*:19000:0:99999:7:::" >>/run/member/shadow
  echo "$user:x:64123:" >>/run/member/group
  awk -F: -v OFS=: -v u="$user" '$1 == "libvirt" { $4 = ($4 == "" ? u : $4 "," u) } 1' /run/member/group >/run/member/group.new
  mv /run/member/group.new /run/member/group
fi
for f in passwd group shadow; do mount --bind "/run/member/$f" "/etc/$f"; done

node_bin=$(command -v node || true)
for p in "${hide[@]}"; do
  if [ -d "$p" ]; then mount -t tmpfs -o mode=755 tmpfs "$p"; elif [ -e "$p" ]; then mount --bind /dev/null "$p"; fi
done
if [ -n "$node_bin" ]; then mount --bind /dev/null "$node_bin"; fi
for d in /root /home /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt; do
  mkdir -p "$d" && mount -t tmpfs -o mode=755 tmpfs "$d"
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
chmod 700 /root
mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu
if [ "$user" != root ]; then
  mkdir -p "/home/$user" && chown "$user:$user" "/home/$user"
  chown -R "$user:$user" /srv/understudy-member
fi
keys=/run/member/authorized_keys

cat >/etc/libvirt/libvirtd.conf <<'EOF'
listen_tls = 0
listen_tcp = 0
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
EOF

cat >/run/member/sshd_config <<EOF
ListenAddress $addr
Port 22
HostKey /run/member/ssh_host_ed25519_key
AuthorizedKeysFile $keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
PidFile /run/sshd.pid
MaxSessions 32
MaxStartups 32:30:64
EOF

read -r _go   # the parent has configured our end of the veth pair
ip link set lo up

virtlogd -d
libvirtd -d
for _ in $(seq 1 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
/usr/sbin/sshd -f /run/member/sshd_config -E /run/member/sshd.log
for _ in $(seq 1 100); do [ -s /run/sshd.pid ] && break; sleep 0.1; done
echo MEMBER-READY
# PID 1: reap children until killed (the namespace dies with us)
trap 'exit 0' TERM INT
while true; do sleep 3600 & wait $! || true; done
