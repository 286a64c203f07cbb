// Grouping a fleet on real dir: captures: clones that differ only in identity (host name, machine-id,
// keys, logs) or in local edits are one group; a different package version, architecture, release or
// package source is another; fields dpkg keeps per host do not split a group; a tree without a package
// database groups only with identical trees; different plans never share.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { fleetMember, hostBasis } from '../../../main/adapters/fleet/host-basis.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { groupHosts, type FleetMember } from '../../../main/core/domain/fleet-groups.ts';
import { parseDpkgStatus, parseOsRelease } from '../../../main/core/domain/package-db.ts';
import { buildRoot, cloneHost, dpkgStatus } from './helpers/fleet-root.ts';

let work = '', store = '', root = '';
const PLAN = { command: 'apt-get install -y hello=2.0-1', checks: ['hello --version'] };

async function member(name: string, edit?: (dir: string) => void, plan = PLAN): Promise<FleetMember> {
  const dir = join(work, name);
  cloneHost(root, dir, name);
  edit?.(dir);
  const { map } = await capture({ store, target: `dir:${dir}` });
  return fleetMember(store, `dir:${dir}`, map, plan);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-groups-'));
  store = join(work, 'store');
  root = join(work, 'golden');
  buildRoot(root);
});
after(() => rmSync(work, { recursive: true, force: true }));

const name = (target: string) => target.slice(target.lastIndexOf('/') + 1);
const shape = (members: FleetMember[]) => groupHosts(members).map((g) => g.members.map(name));

test('one group for clones of one image, whatever their identity and local edits', async () => {
  const a = await member('web1');
  const b = await member('web2');
  const c = await member('web3', (d) => writeFileSync(join(d, 'usr/bin/hello'), 'patched\n'));
  assert.notEqual(a.content, b.content, 'their trees differ (host name, keys, ...)');
  const groups = groupHosts([a, b, c]);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0]!.members.map(name), ['web1', 'web2', 'web3']);
  assert.equal(groups[0]!.representative, a.target);
  assert.equal(groups[0]!.by, 'packages');
  assert.equal(groups[0]!.label, 'Debian GNU/Linux 12 (bookworm), 3 packages (dpkg)', 'os-release read through its symlink');
});

test('a different version, architecture, release or package source makes another group', async () => {
  const a = await member('ref');
  const version = await member('newer', (d) => writeFileSync(join(d, 'var/lib/dpkg/status'), dpkgStatus('1.0-2')));
  const arch = await member('arm', (d) => writeFileSync(join(d, 'var/lib/dpkg/status'), dpkgStatus('1.0-1').replace(/amd64/g, 'arm64')));
  const release = await member('trixie', (d) => {
    const p = join(d, 'usr/lib/os-release');
    writeFileSync(p, readFileSync(p, 'utf8').replace('VERSION_ID="12"', 'VERSION_ID="13"'));
  });
  const sources = await member('backports', (d) => {
    execFileSync('mkdir', ['-p', join(d, 'etc/apt/sources.list.d')]);
    writeFileSync(join(d, 'etc/apt/sources.list.d/backports.list'), 'deb http://archive.invalid/debian bookworm-backports main\n');
  });
  const apt = await member('pinned', (d) => {
    execFileSync('mkdir', ['-p', join(d, 'etc/apt/preferences.d')]);
    writeFileSync(join(d, 'etc/apt/preferences.d/hello'), 'Package: hello\nPin: version 1.*\nPin-Priority: 1001\n');
  });
  assert.deepEqual(shape([a, version, arch, release, sources, apt]), [['ref'], ['newer'], ['arm'], ['trixie'], ['backports'], ['pinned']]);
});

test('fields dpkg keeps per host do not split a group; installed vs config-files does', async () => {
  const a = await member('plain');
  const reworded = await member('reworded', (d) => writeFileSync(join(d, 'var/lib/dpkg/status'),
    dpkgStatus('1.0-1').replace('Description: hello\n', 'Description: hello, with a longer text\n here\n').replace('0123456789abcdef0123456789abcdef', 'ffffffffffffffffffffffffffffffff')));
  const removed = await member('removed', (d) => writeFileSync(join(d, 'var/lib/dpkg/status'),
    dpkgStatus('1.0-1', 'Package: old-tool\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 0.9\n')));
  assert.deepEqual(shape([a, reworded, removed]), [['plain', 'reworded'], ['removed']]);
});

test('different plans never share; identical trees share by content id', async () => {
  const a = await member('p1');
  const b = await member('p2', undefined, { ...PLAN, checks: [] });
  const same = { ...a, target: 'dir:/elsewhere/p1-copy' };
  const groups = groupHosts([a, b, same]);
  assert.deepEqual(groups.map((g) => g.members.map(name)), [['p1', 'p1-copy'], ['p2']]);
  assert.equal(groups[0]!.by, 'content');
});

test('a tree without a package database groups only with identical trees', async () => {
  const bare = join(work, 'bare');
  execFileSync('mkdir', ['-p', join(bare, 'etc')]);
  writeFileSync(join(bare, 'etc/hostname'), 'bare\n');
  const copy = join(work, 'bare-copy');
  execFileSync('cp', ['-a', bare, copy]);
  const m = async (dir: string) => fleetMember(store, `dir:${dir}`, (await capture({ store, target: `dir:${dir}` })).map, PLAN);
  const [x, y] = [await m(bare), await m(copy)];
  assert.equal(await hostBasis(store, (await loadMap(store, (await capture({ store, target: `dir:${bare}` })).map)).manifest), null);
  writeFileSync(join(copy, 'etc/hostname'), 'other\n');
  const z = await m(copy);
  assert.deepEqual(shape([x, y, z]), [['bare', 'bare-copy'], ['bare-copy']]);
  assert.equal(groupHosts([x])[0]!.label, 'no package database: identical trees only');
});

test('parsers: os-release quoting, dpkg stanzas', () => {
  assert.deepEqual(parseOsRelease('NAME="Debian \\"x\\""\nID=debian\n# c\nVERSION_ID=\'12\'\n'), { NAME: 'Debian "x"', ID: 'debian', VERSION_ID: '12' });
  const p = parseDpkgStatus('Package: b\nVersion: 1\nArchitecture: all\nStatus: install ok installed\n\nPackage: a\nStatus: install ok installed\nVersion: 2\nArchitecture: amd64\nDescription: x\n Package: fake\n');
  assert.deepEqual(p.map((x) => [x.name, x.version, x.architecture]), [['a', '2', 'amd64'], ['b', '1', 'all']]);
});
