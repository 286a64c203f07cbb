// A small Debian-like root for fleet tests, its clones (the identity differences real clones have: host
// name, machine-id, SSH host keys, a log), and "the upgrade" done to a copy the way dpkg would (a
// binary and a conffile replaced, the status file's version bumped, a file added, one removed), so the
// maps are real dir: captures of real trees.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, linkSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const T = new Date('2026-01-02T03:04:05Z');

export const dpkgStatus = (helloVersion: string, extra = '') => [
  'Package: base-files\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system\n miscellaneous files\n',
  `Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${helloVersion}\nConffiles:\n /etc/hello.conf 0123456789abcdef0123456789abcdef\nDescription: hello\n`,
  'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n',
  extra,
].filter(Boolean).join('\n');

const HELLO_CONF_1 = 'greeting = hello\ncolour = blue\n# comment a\n# comment b\n# comment c\nport = 8080\n';
const HELLO_CONF_2 = 'greeting = hello\ncolour = blue\n# comment a\n# comment b\n# comment c\nport = 8080\nthreads = 4\n';

function write(root: string, path: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
  chmodSync(join(root, path), mode);
}

/** Every mtime fixed (as a package's files would have): copies made with cp -a match exactly. */
function settle(root: string): void {
  execFileSync('find', [root, '-exec', 'touch', '-h', '-d', T.toISOString(), '{}', '+']);
}

export function buildRoot(root: string): void {
  write(root, 'usr/lib/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n');
  write(root, 'var/lib/dpkg/status', dpkgStatus('1.0-1'));
  write(root, 'etc/apt/sources.list', 'deb http://archive.invalid/debian bookworm main\n');
  symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
  write(root, 'usr/bin/hello', Buffer.alloc(9000, 1), 0o755);
  write(root, 'etc/hello.conf', HELLO_CONF_1);
  write(root, 'usr/share/doc/hello/old-notes', 'notes of 1.0\n');
  write(root, 'usr/lib/hello/plugin-a', 'plugin a 1.0\n');
  linkSync(join(root, 'usr/lib/hello/plugin-a'), join(root, 'usr/lib/hello/plugin-a-link'));
  write(root, 'usr/lib/hello/old/legacy', 'legacy module\n');
  write(root, 'etc/hostname', 'golden\n');
  write(root, 'etc/machine-id', '00000000000000000000000000000000\n', 0o444);
  write(root, 'etc/ssh/ssh_host_ed25519_key', 'golden private key\n', 0o600);
  write(root, 'etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 golden\n');
  write(root, 'var/log/syslog', 'boot\n', 0o640);
  settle(root);
}

/** A clone of `root` at `dir` made different the way real clones are: its own name, id, keys and log. */
export function cloneHost(root: string, dir: string, name: string): void {
  execFileSync('cp', ['-a', root, dir]);
  writeFileSync(join(dir, 'etc/hostname'), `${name}\n`);
  writeFileSync(join(dir, 'etc/machine-id'), `${Buffer.from(name.padEnd(16, '.')).toString('hex').slice(0, 32)}\n`);
  rmSync(join(dir, 'etc/ssh/ssh_host_ed25519_key'));
  write(dir, 'etc/ssh/ssh_host_ed25519_key', `${name} private key\n`, 0o600);
  writeFileSync(join(dir, 'etc/ssh/ssh_host_ed25519_key.pub'), `ssh-ed25519 ${name}\n`);
  appendFileSync(join(dir, 'var/log/syslog'), `${name} up\n`);
}

/** hello 1.0 -> 2.0: a new binary (a new inode), the conffile updated, the status bumped, a file added, a file and a
 *  directory removed, a hard-linked file rewritten in place. */
export function upgradeHello(dir: string): void {
  rmSync(join(dir, 'usr/bin/hello'));
  write(dir, 'usr/bin/hello', Buffer.alloc(9500, 2), 0o755);
  writeFileSync(join(dir, 'etc/hello.conf'), HELLO_CONF_2);
  writeFileSync(join(dir, 'var/lib/dpkg/status'), dpkgStatus('2.0-1'));
  write(dir, 'usr/share/doc/hello/changelog', 'hello (2.0-1)\n');
  rmSync(join(dir, 'usr/share/doc/hello/old-notes'));
  rmSync(join(dir, 'usr/lib/hello/old'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/hello/plugin-a'), 'plugin a 2.0\n'); // in place: both of its names change
  utimesSync(join(dir, 'usr/bin/hello'), new Date('2026-02-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
}

export { HELLO_CONF_1, HELLO_CONF_2 };

/** upgradeHello as a shell command run in the root (the plan a dir: sandbox runs). */
export const UPGRADE_HELLO_SH = [
  'rm usr/bin/hello && head -c 9500 /dev/zero | tr "\\0" "\\2" > usr/bin/hello && chmod 755 usr/bin/hello',
  `printf '%s' '${HELLO_CONF_2}' > etc/hello.conf`,
  "sed -i 's/^Version: 1.0-1$/Version: 2.0-1/' var/lib/dpkg/status",
  "printf 'hello (2.0-1)\\n' > usr/share/doc/hello/changelog",
  'rm usr/share/doc/hello/old-notes && rm -r usr/lib/hello/old',
  "printf 'plugin a 2.0\\n' > usr/lib/hello/plugin-a",
].join(' && ');
