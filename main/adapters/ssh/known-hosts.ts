// known_hosts handling for understudy's own file (OpenSSH format, so `ssh -o UserKnownHostsFile=` agrees):
//   checkHostKey(path, host, port, keyBlob, acceptNew) -> void | throws UnderstudyError
//     'host-key-unknown'  no entry of this key type for host[:port] (unless acceptNew: then it is appended)
//     'host-key-changed'  an entry of this type holds another key (message and details give both SHA256)
// Hashed entries (|1|salt|hash) are matched too; new entries are written in plain form.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';

/** OpenSSH's fingerprint form: SHA256:<unpadded base64 of sha256(blob)>. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type a public key blob starts with (ssh string: uint32 length + name). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** host pattern as written in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry { names: string; type: string; blob: Buffer }

function parse(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    // Marker lines (@cert-authority, @revoked) are not host keys of ours.
    if (f[0]?.startsWith('@') || f.length < 3) continue;
    out.push({ names: f[0]!, type: f[1]!, blob: Buffer.from(f[2]!, 'base64') });
  }
  return out;
}

function namesMatch(names: string, pattern: string): boolean {
  if (names.startsWith('|1|')) {
    const [, , salt, hash] = names.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(pattern).digest('base64') === hash;
  }
  return names.split(',').includes(pattern);
}

function readOrEmpty(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new UnderstudyError('io', `cannot read known_hosts ${path}: ${(e as Error).message}`);
  }
}

/** What a known_hosts file says of this key: the same key is there, another key of its type, or nothing. */
export function lookupHostKey(path: string, host: string, port: number, blob: Buffer): { state: 'known' | 'unknown' } | { state: 'changed'; expected: Buffer } {
  const pattern = hostPattern(host, port);
  const type = keyTypeOf(blob);
  const known = parse(readOrEmpty(path)).filter((e) => e.type === type && namesMatch(e.names, pattern));
  if (known.some((e) => e.blob.equals(blob))) return { state: 'known' };
  return known.length > 0 ? { state: 'changed', expected: known[0]!.blob } : { state: 'unknown' };
}

/**
 * Checks `blob` against `path` (appending it there when unknown and acceptNew) and, read-only, against
 * `alsoTrusted` (e.g. ~/.ssh/known_hosts, which the operator's own ssh and virsh use): a key known in any
 * of them passes, a different key in any of them is refused.
 */
export function checkHostKey(path: string, host: string, port: number, blob: Buffer, acceptNew: boolean, alsoTrusted: string[] = []): void {
  const pattern = hostPattern(host, port);
  const type = keyTypeOf(blob);
  const got = sha256Fingerprint(blob);
  const looks = [path, ...alsoTrusted].map((p) => ({ p, r: lookupHostKey(p, host, port, blob) }));
  const changed = looks.find((l) => l.r.state === 'changed');
  if (!changed && looks.some((l) => l.r.state === 'known')) return;
  if (changed && changed.r.state === 'changed') {
    const expected = sha256Fingerprint(changed.r.expected);
    throw new UnderstudyError('host-key-changed',
      `host key for ${pattern} changed: known_hosts (${changed.p}) has ${type} ${expected}, the host offered ${got}. ` +
      'If the host was reinstalled, remove its line from that file; otherwise someone may be intercepting.',
      { host, port, keyType: type, expected, got, knownHosts: changed.p });
  }
  if (!acceptNew) {
    throw new UnderstudyError('host-key-unknown',
      `unknown host key for ${pattern}: ${type} ${got} is not in ${path}. Check the fingerprint on the host ` +
      '(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and accept it explicitly (--accept-new-host-key).',
      { host, port, keyType: type, got, knownHosts: path });
  }
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${pattern} ${type} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
