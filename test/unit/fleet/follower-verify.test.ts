// A follower takes its representative's rehearsal only where its own map1 matches on every delta path
// (drift rules otherwise), on real dir: captures: the representative's map2 comes from a captured
// "sandbox" copy through effectiveMap2, as a rehearsal's does. A follower that takes it is then swapped
// for real (dir: swap) and must end exactly as the representative after its own swap, except on its
// host-specific paths, which stay byte for byte (and time for time) its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap, saveMap } from '../../../main/adapters/store/map-store.ts';
import { effectiveMap2 } from '../../../main/app/stage-services/effective-map2.ts';
import { verifyFollower, type FollowerVerdict } from '../../../main/adapters/fleet/follower-verify.ts';
import { restoreMap } from '../../../main/adapters/restore/restore-map.ts';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { computeDelta } from '../../../main/core/domain/swap-delta.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';
import { validateManifest } from '../../../main/core/domain/map-validate.ts';
import { snapshot } from '../swap/helpers/tree.ts';
import { buildRoot, cloneHost, HELLO_CONF_2, upgradeHello } from './helpers/fleet-root.ts';

let work = '', store = '', root = '';
const rep = { dir: '', map1: '', map2: '' };
let repDelta: ReturnType<typeof diffMaps>;

const cap = async (dir: string) => (await capture({ store, target: `dir:${dir}` })).map;

/** A clone of the golden root with its own identity, `edit` applied, captured: [dir, map1]. */
async function follower(name: string, edit?: (dir: string) => void): Promise<[string, string]> {
  const dir = join(work, name);
  cloneHost(root, dir, name);
  edit?.(dir);
  return [dir, await cap(dir)];
}

async function swapped(dir: string, map1: string, map2: string): Promise<void> {
  const r = await swap({ host: await openDirHost(`dir:${dir}`), store, map1: await loadMap(store, map1), map2: await loadMap(store, map2) });
  assert.equal(r.outcome, 'committed');
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'understudy-follower-'));
  store = join(work, 'store');
  root = join(work, 'golden');
  buildRoot(root);
  rep.dir = join(work, 'web1');
  cloneHost(root, rep.dir, 'web1');
  rep.map1 = await cap(rep.dir);
  // the representative's sandbox: the upgrade, plus what booting a copy rewrites (keys, id, logs)
  const sandbox = join(work, 'sandbox');
  execFileSync('cp', ['-a', rep.dir, sandbox]);
  upgradeHello(sandbox);
  writeFileSync(join(sandbox, 'etc/machine-id'), 'ffffffffffffffffffffffffffffffff\n');
  writeFileSync(join(sandbox, 'etc/ssh/ssh_host_ed25519_key'), 'sandbox key\n');
  appendFileSync(join(sandbox, 'var/log/syslog'), 'sandbox boot\n');
  const m1 = (await loadMap(store, rep.map1)).manifest;
  const raw = (await loadMap(store, await cap(sandbox))).manifest;
  const eff = (await effectiveMap2(store, m1, raw)).manifest;
  rep.map2 = await saveMap(store, eff);
  repDelta = diffMaps(m1, eff, false);
  assert.deepEqual(repDelta.added, ['usr/share/doc/hello/changelog']);
  assert.deepEqual(repDelta.removed, ['usr/lib/hello/old', 'usr/lib/hello/old/legacy', 'usr/share/doc/hello/old-notes']);
  assert.deepEqual(repDelta.changed, ['etc/hello.conf', 'usr/bin/hello', 'usr/lib/hello/plugin-a', 'usr/lib/hello/plugin-a-link', 'var/lib/dpkg/status']);
});
after(() => rmSync(work, { recursive: true, force: true }));

const verify = (map1: string) => verifyFollower(store, { map1: rep.map1, map2: rep.map2 }, { map1 });

/** The follower's swap writes nothing but the rehearsed delta's paths. */
async function onlyDeltaPaths(v: FollowerVerdict, map1: string): Promise<void> {
  const [f1, f2, r1, r2] = await Promise.all([map1, v.map2!, rep.map1, rep.map2].map(async (id) => (await loadMap(store, id)).manifest));
  validateManifest(f2!);
  const allowed = new Set(computeDelta(r1!, r2!).items.map((i) => i.path));
  const written = computeDelta(f1!, f2!).items.map((i) => i.path);
  assert.deepEqual(written.filter((p) => !allowed.has(p)), [], 'nothing outside the rehearsed delta');
}

const IDENTITY = ['etc/hostname', 'etc/machine-id', 'etc/ssh/ssh_host_ed25519_key', 'etc/ssh/ssh_host_ed25519_key.pub', 'var/log/syslog'];

test('a clone with its own identity takes the rehearsal and ends as the representative, keeping its own files', async () => {
  const [dir, map1] = await follower('web2');
  const v = await verify(map1);
  assert.equal(v.takes, true, JSON.stringify(v.conflicts));
  assert.deepEqual(v.conflicts, []);
  assert.equal(v.identical, v.deltaPaths, 'every delta path verified identical');
  assert.ok(v.deltaPaths >= 8);
  assert.deepEqual(v.merged, []);
  for (const p of IDENTITY) assert.ok(v.hostSpecificSample.includes(p), `${p} is host-specific`);
  assert.equal(v.hostSpecific, v.hostSpecificSample.length);
  assert.deepEqual(v.delta, repDelta, 'the same change as the representative\'s');
  await onlyDeltaPaths(v, map1);

  const before = snapshot(dir);
  const identity = IDENTITY.map((p) => readFileSync(join(dir, p)));
  await swapped(rep.dir, rep.map1, rep.map2);
  await swapped(dir, map1, v.map2!);
  const mine = snapshot(dir), theirs = snapshot(rep.dir);
  const hostSpecific = new Set(v.hostSpecificSample);
  for (const [p, line] of mine) {
    if (hostSpecific.has(p)) assert.equal(line, before.get(p), `${p}: the follower's own, untouched`);
    else assert.equal(line, theirs.get(p), `${p}: as on the representative after its upgrade`);
  }
  assert.deepEqual([...mine.keys()], [...theirs.keys()]);
  IDENTITY.forEach((p, i) => assert.deepEqual(readFileSync(join(dir, p)), identity[i], `${p} byte for byte`));
  assert.equal(readFileSync(join(dir, 'etc/hostname'), 'utf8'), 'web2\n');
});

test('a local edit to /etc text the upgrade also changes is merged (3-way), and the swap lands both', async () => {
  const [dir, map1] = await follower('web3', (d) => {
    writeFileSync(join(d, 'etc/hello.conf'), readFileSync(join(d, 'etc/hello.conf'), 'utf8').replace('colour = blue', 'colour = green'));
  });
  const v = await verify(map1);
  assert.equal(v.takes, true, JSON.stringify(v.conflicts));
  assert.deepEqual(v.merged, ['etc/hello.conf']);
  assert.equal(v.identical, v.deltaPaths - 1);
  await onlyDeltaPaths(v, map1);
  await swapped(dir, map1, v.map2!);
  assert.equal(readFileSync(join(dir, 'etc/hello.conf'), 'utf8'), HELLO_CONF_2.replace('colour = blue', 'colour = green'));
  assert.equal(readFileSync(join(dir, 'etc/hostname'), 'utf8'), 'web3\n');
});

/** The verdict of a follower the rules send to a rehearsal of its own: conflicts, and no map2. */
async function ownRehearsal(name: string, edit: (dir: string) => void): Promise<FollowerVerdict> {
  const [, map1] = await follower(name, edit);
  const v = await verify(map1);
  assert.equal(v.takes, false);
  assert.equal(v.map2, undefined);
  return v;
}

test('a local edit to a file the upgrade replaces (not /etc text) is a conflict: a rehearsal of its own', async () => {
  const v = await ownRehearsal('web4', (d) => writeFileSync(join(d, 'usr/bin/hello'), 'patched locally\n'));
  assert.deepEqual(v.conflicts.map((c) => c.path), ['usr/bin/hello']);
  assert.match(v.conflicts[0]!.host, /content changed/);
});

test('an /etc edit next to the upgrade\'s own change has no clean merge: a conflict', async () => {
  const v = await ownRehearsal('web5', (d) => {
    writeFileSync(join(d, 'etc/hello.conf'), readFileSync(join(d, 'etc/hello.conf'), 'utf8').replace('port = 8080', 'port = 9090'));
  });
  assert.deepEqual(v.conflicts.map((c) => c.path), ['etc/hello.conf']);
  assert.match(v.conflicts[0]!.sandbox, /no clean 3-way merge/);
});

test('files of its own in a directory the upgrade removes are a conflict', async () => {
  const v = await ownRehearsal('web6', (d) => writeFileSync(join(d, 'usr/lib/hello/old/site-local'), 'mine\n'));
  assert.deepEqual(v.conflicts.map((c) => c.path), ['usr/lib/hello/old']);
  assert.match(v.conflicts[0]!.host, /site-local/);
});

test('a hard-link group that differs from the representative\'s on a delta path is a conflict', async () => {
  const v = await ownRehearsal('web7', (d) => {
    // the second name becomes a file of its own: rewriting plugin-a in place would not reach it here
    const link = join(d, 'usr/lib/hello/plugin-a-link');
    const text = readFileSync(link);
    rmSync(link);
    writeFileSync(link, text);
    execFileSync('touch', ['-r', join(d, 'usr/lib/hello/plugin-a'), link]);
  });
  assert.deepEqual(v.conflicts.map((c) => c.path).sort(), ['usr/lib/hello/plugin-a', 'usr/lib/hello/plugin-a-link']);
});

test('a directory the upgrade writes into that the follower does not have is a conflict', async () => {
  const v = await ownRehearsal('web8', (d) => rmSync(join(d, 'usr/share/doc'), { recursive: true }));
  assert.deepEqual(v.conflicts.map((c) => c.path), ['usr/share/doc'], 'named once, at the outermost directory it lacks');
  assert.match(v.conflicts[0]!.host, /absent/);
});

test('a follower that already has the rehearsed version of a path keeps it', async () => {
  const [, map1] = await follower('web9', (d) => {
    execFileSync('cp', ['-a', join(rep.dir, '..', 'sandbox', 'usr/share/doc/hello/changelog'), join(d, 'usr/share/doc/hello/changelog')]);
  });
  const v = await verify(map1);
  assert.equal(v.takes, true, JSON.stringify(v.conflicts));
  assert.equal(v.already, 1);
  assert.equal(v.identical, v.deltaPaths - 1);
});

test('a rehearsal that wrote the representative\'s own host name or identity into a file is not taken by another host', async () => {
  // the representative's sandbox again, but its upgrade also reads host-specific files and writes what it read
  const sandbox = join(work, 'sandbox-reads-identity');
  await restoreMap(store, rep.map1, sandbox); // rep.dir itself was swapped by the first test
  upgradeHello(sandbox);
  writeFileSync(join(sandbox, 'etc/hello-node.conf'), 'listen = 0.0.0.0\nnode_name = web1\n'); // a postinst's `hostname`
  appendFileSync(join(sandbox, 'usr/share/doc/hello/changelog'), 'built on web1\n'); // package payload: not searched
  const m1 = (await loadMap(store, rep.map1)).manifest;
  const eff = (await effectiveMap2(store, m1, (await loadMap(store, await cap(sandbox))).manifest)).manifest;
  const map2 = await saveMap(store, eff);
  const [, f1] = await follower('web11');
  const v = await verifyFollower(store, { map1: rep.map1, map2 }, { map1: f1 });
  assert.equal(v.takes, false);
  assert.deepEqual(v.conflicts.map((c) => c.path), ['etc/hello-node.conf']);
  assert.match(v.conflicts[0]!.sandbox, /the representative's "web1" \(from its \/etc\/hostname\)/);
  // the representative itself (or an identical clone) has nothing of another host's: it takes it
  const same = await verifyFollower(store, { map1: rep.map1, map2 }, { map1: rep.map1 });
  assert.equal(same.takes, true, JSON.stringify(same.conflicts));
});
