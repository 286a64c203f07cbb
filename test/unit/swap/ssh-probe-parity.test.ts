// The ssh:// probe (remote-probe.sh, run here through the local `sh`: the same command line an ssh exec
// channel would run) must see a tree exactly as the dir: probe (Node lstat) does, entry for entry:
// the drift decision depends on both agreeing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeLocal } from '../../../main/adapters/swap/local-probe.ts';
import { localRunner, nsFromStat, probeRemote } from '../../../main/adapters/swap/remote-probe.ts';
import type { Entry } from '../../../main/core/domain/manifest.ts';
import { keyFromBytes } from '../../../main/core/domain/path-key.ts';
import type { HostEntry } from '../../../main/core/domain/swap-drift.ts';
import { buildTree1, sh } from './helpers/tree.ts';

const bad = keyFromBytes(Buffer.from('usr/share/doc/inv\xffalid', 'latin1'));
const paths = ['', 'etc', 'etc/app', 'etc/app/app.conf', 'usr/bin/tool', 'usr/bin/capbin', 'usr/bin/a', 'usr/bin/b', 'etc/alt',
  'etc/old-link', 'etc/meta-only', 'usr/share/doc/sp ace\nnl', 'usr/share/doc/-rf', bad, 'usr/share/doc', 'opt/old',
  'srv/gone-dir', 'data/f2d', 'missing', 'missing/deeper', 'data/f2d/under-a-file', 'x/fifo', 'x/nl-link', 'x/zero', 'x/old',
  'x/sock-dir', 'x/empty-dir', 'x/b64:name', 'x/dev-null'];
const listChildren = new Set(['', 'opt/old', 'usr/share/doc', 'x/empty-dir', 'x/sock-dir']);

const sorted = (m: Map<string, HostEntry | null>) =>
  new Map([...m].map(([k, v]) => [k, v && v.children ? { ...v, children: [...v.children].sort() } : v]));

describe('ssh probe script agrees with the local probe', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'understudy-probe-parity-'));
    buildTree1(dir);
    sh(`mkdir -p x/empty-dir x/sock-dir; mkfifo x/fifo; ln -s "$(printf 'tar\\nget\\377')" x/nl-link; : > x/zero
      printf old > x/old; touch -d @-1.5 x/old; printf b > 'x/b64:name'
      python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' x/sock-dir/s 2>/dev/null || true
      setfattr -h -n user.empty x/zero 2>/dev/null || true; setfattr -n user.bin -v 0x00ff0a x/old 2>/dev/null || true
      { mknod x/dev-null c 1 3 2>/dev/null || true; }`, dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every path: type, mode, owner, ns mtime, size, nlink, sha256, symlink target, rdev, xattrs, children', async () => {
    const local = await probeLocal(dir, { paths, listChildren });
    const remote = await probeRemote(dir, { paths, listChildren }, localRunner);
    assert.deepEqual(sorted(remote), sorted(local));
    // the case list really covers what it claims (a probe that saw nothing would also agree)
    assert.equal(local.get('missing'), null);
    assert.equal(local.get('usr/share/doc/-rf')?.type, 'file');
    assert.equal(local.get(bad)?.sha256?.length, 64);
    assert.equal(local.get('x/nl-link')?.type, 'symlink');
    assert.equal(local.get('x/fifo')?.type, 'fifo');
    assert.equal(local.get('usr/bin/tool')?.mode, 0o4755);
    assert.equal(local.get('usr/bin/a')?.nlink, 2);
    assert.ok(local.get('etc/app/app.conf')?.xattrs?.['user.note']);
    assert.ok(local.get('usr/share/doc')!.children!.length >= 3);
    assert.deepEqual(local.get('x/empty-dir')!.children, []);
    assert.equal(local.get('x/old')?.mtimeNs, '-1500000000');
    if (process.getuid?.() === 0) assert.deepEqual([local.get('x/dev-null')?.rdevMajor, local.get('x/dev-null')?.rdevMinor], [1, 3]);
  });

  it('a file whose size and mtime match map1 is not re-hashed; one that differs is', async () => {
    const fake = 'f'.repeat(64);
    const cur = (await probeLocal(dir, { paths: ['usr/bin/tool', 'etc/touched'] }));
    const exp = new Map<string, Entry>([
      ['usr/bin/tool', { ...cur.get('usr/bin/tool')!, sha256: fake } as Entry],
      ['etc/touched', { ...cur.get('etc/touched')!, sha256: fake, mtimeNs: '1' } as Entry]]);
    const req = { paths: ['usr/bin/tool', 'etc/touched'], expected: exp };
    const [local, remote] = [await probeLocal(dir, req), await probeRemote(dir, req, localRunner)];
    assert.deepEqual(remote, local);
    assert.equal(remote.get('usr/bin/tool')!.sha256, fake);
    assert.equal(remote.get('etc/touched')!.sha256, cur.get('etc/touched')!.sha256);
  });

  it('a path it cannot read fails the probe instead of passing for absent', { skip: process.getuid?.() === 0 && 'root reads everything' }, async () => {
    sh('mkdir -p locked/in; : > locked/in/f; chmod 000 locked', dir);
    try {
      await assert.rejects(probeRemote(dir, { paths: ['locked/in/f'] }, localRunner), /probing the host/);
    } finally { sh('chmod 755 locked', dir); }
  });

  it('thousands of paths (several xargs batches, a few processes each): missing, files, links, dirs interleaved, still in order', async () => {
    const long = 'n'.repeat(120);
    mkdirSync(join(dir, 'many'));
    for (let i = 0; i < 1500; i++) { writeFileSync(join(dir, 'many', `${long}${i}`), String(i).padStart(4)); symlinkSync(`t${i}`, join(dir, 'many', `l${i}`)); }
    const keys = ['many', ...Array.from({ length: 1500 }, (_, i) => [`many/${long}${i}`, `many/gone${i}`, `many/l${i}`, `many/${long}${i}/under`]).flat()];
    const req = { paths: keys, listChildren: new Set(['many']) };
    const [local, remote] = [await probeLocal(dir, req), await probeRemote(dir, req, localRunner)];
    assert.deepEqual(sorted(remote), sorted(local));
    assert.equal(local.get(`many/${long}1499`)?.size, 4);
    assert.equal(local.get('many/l7')?.target, 't7');
    assert.equal(local.get('many')!.children!.length, 3000);
  });

  it('stat times with fractions and signs', () => {
    assert.equal(nsFromStat('1700000000.123456789'), '1700000000123456789');
    assert.equal(nsFromStat('-1.500000000'), '-1500000000');
    assert.equal(nsFromStat('5'), '5000000000');
  });
});
