// A fleet of real clones shares one rehearsal, on real parts: four `dir:` hosts copied from the demo host
// image tree. web1 is the image as built (so its sandbox disk is the one the
// other VM tests already cached); web2 and web3 are clones made different the way real clones are: host
// name, machine-id, SSH host keys made by ssh-keygen, a log of their own, and on web3 local edits outside
// what the upgrade touches (/etc/motd, a site tool). `understudy batch --yes` of hello-service 1.0 -> 2.0:
// the survey captures all three and shows one group before anything boots; web1 (the canary) rehearses
// in the one sandbox; web2 and web3 take that rehearsal only after every delta path was verified against
// their own map1. All three end upgraded, each exactly at its own run's map2, each with its identity and
// local edits byte for byte. web4 is a clone with a local edit to a file the upgrade replaces (the
// service's handler): the survey puts it in the same group, but its verification fails on that path, so
// it rehearses in a second sandbox of its own, with the reason reported, and still ends upgraded. Exactly
// two sandboxes boot. (More cases of hosts that differ, on real captures and swaps: test/unit/fleet/
// fleet-batch.test.ts.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHostImage, mirrorImage } from '../../main/adapters/qemu/image-cache.ts';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { cliJson } from './helpers/cli-json.ts';
import { treeVersusMap } from './helpers/host-trees.ts';

const INSTALL_2 = 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello-service=2.0';
const VERSION_2 = 'curl -fsS http://127.0.0.1:8080/version | grep -qx 2.0';
// dir: hosts run nothing: their health check runs here, in the host's directory
const HEALTH_2 = 'grep -qx version=2.0 usr/lib/hello-service/handler';
const IDENTITY = ['etc/hostname', 'etc/machine-id', 'etc/ssh/ssh_host_ed25519_key', 'etc/ssh/ssh_host_ed25519_key.pub', 'var/log/fleet-host.log'];
const LOCAL = ['etc/motd', 'usr/local/sbin/site-tool'];
const HANDLER = 'usr/lib/hello-service/handler';

let work = '';
let tree = '';
let mirror = '';
const started = Date.now();

/** A clone of the image tree with its own name, machine-id, SSH host key, log, and optional local edits. */
function clone(name: string, localEdits: boolean, onDelta = false): string {
  const dir = join(work, name);
  execFileSync('cp', ['-a', '--reflink=auto', tree, dir]);
  writeFileSync(join(dir, 'etc/hostname'), `${name}\n`);
  writeFileSync(join(dir, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);
  for (const f of readdirSync(join(dir, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) rmSync(join(dir, 'etc/ssh', f));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', join(dir, 'etc/ssh/ssh_host_ed25519_key')]);
  writeFileSync(join(dir, 'var/log/fleet-host.log'), `${name} provisioned ${new Date().toISOString()}\n`);
  if (localEdits) {
    appendFileSync(join(dir, 'etc/motd'), `${name}: maintained by the web team\n`);
    mkdirSync(join(dir, 'usr/local/sbin'), { recursive: true });
    writeFileSync(join(dir, 'usr/local/sbin/site-tool'), '#!/bin/sh\necho site tool\n', { mode: 0o755 });
  }
  if (onDelta) appendFileSync(join(dir, HANDLER), `# ${name}: patched here\n`);
  return dir;
}

const filesOf = (dir: string, paths: string[]) => paths.map((p) => (existsSync(join(dir, p)) ? readFileSync(join(dir, p)).toString('base64') : null));

before(async () => {
  tree = (await demoHostImage({ build: true })).tree;
  mirror = (await mirrorImage({ build: true })).dir;
  work = mkdtempSync(join(tmpdir(), 'understudy-fleet-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('batch --yes 1.0 -> 2.0 of four dir: clones: one group, two sandboxes (one host edited on the delta), every host upgraded and still its own', { timeout: 30 * 60_000 }, async () => {
  const web1 = join(work, 'web1');
  execFileSync('cp', ['-a', '--reflink=auto', tree, web1]);
  const dirs = [web1, clone('web2', false), clone('web3', true), clone('web4', false, true)];
  const targets = dirs.map((d) => `dir:${d}`);
  const before = dirs.map((d) => filesOf(d, [...IDENTITY, ...LOCAL]));
  const store = join(work, 'store');
  const privateTmp = join(work, 'tmp');
  mkdirSync(privateTmp);
  const fleet = join(work, 'fleet.yaml');
  writeFileSync(fleet, [
    'plan:', `  run: "${INSTALL_2}"`, `  checks: ["${VERSION_2}"]`, `  health: ["${HEALTH_2}"]`, `  mirrors: ["${mirror}"]`, 'hosts:',
    ...targets.map((t) => `  - target: ${t}`),
  ].join('\n') + '\n');

  const t0 = Date.now();
  const r = await cliJson(['batch', fleet, '--yes', '--canary', '1', '--parallel', '3', '--store', store],
    { TMPDIR: privateTmp }, { deadlineMs: 25 * 60_000 });
  const batchSeconds = (Date.now() - t0) / 1000;
  const result = r.result;
  assert.equal(r.code, 0, `${JSON.stringify(result, null, 1)}\n${r.stderr}`);
  assert.equal(result.ok, true);

  // one group, shown before anything booted
  const lines = r.lines.map((l) => JSON.parse(l) as Record<string, any>);
  const groupsAt = lines.findIndex((l) => l.type === 'groups');
  const firstBoot = lines.findIndex((l) => l.type === 'stage' && l.stage === 'booting');
  assert.ok(groupsAt >= 0 && groupsAt < firstBoot, `the groups come before the first sandbox boots (${groupsAt}, ${firstBoot})`);
  assert.equal(lines[groupsAt]!.groups.length, 1);
  assert.deepEqual(lines[groupsAt]!.groups[0].members, targets);
  assert.equal(lines[groupsAt]!.groups[0].representative, targets[0]);
  assert.equal(lines[groupsAt]!.groups[0].by, 'packages');
  assert.equal(new Set(lines[groupsAt]!.hosts.map((h: any) => h.content)).size, 4, 'four different trees (content ids)');

  // exactly two sandboxes: the group's, and web4's own
  assert.equal(result.rehearsals, 2);
  const booted = readdirSync(join(store, 'runs')).filter((x) => existsSync(join(store, 'runs', x, 'serial.log')));
  const [r1, r2, r3, r4] = targets.map((t) => result.hosts.find((x: any) => x.target === t));
  assert.deepEqual(booted.sort(), [r1.run, r4.run].sort(), 'two sandbox consoles: web1\'s and web4\'s');
  for (const h of [r1, r2, r3, r4]) assert.equal(h.outcome, 'upgraded', JSON.stringify(h));
  assert.equal(r1.rehearsal.mode, 'own');
  for (const h of [r2, r3]) {
    assert.equal(h.rehearsal.mode, 'shared', JSON.stringify(h.rehearsal));
    assert.equal(h.rehearsal.fromTarget, targets[0]);
    assert.equal(h.rehearsal.fromRun, r1.run);
    assert.ok(h.rehearsal.deltaPaths > 0);
    assert.equal(h.rehearsal.verified + h.rehearsal.already, h.rehearsal.deltaPaths, 'every delta path verified');
    assert.deepEqual(h.rehearsal.merged, []);
  }
  assert.ok(r2.rehearsal.hostSpecific >= IDENTITY.length, `web2's host-specific paths kept: ${r2.rehearsal.hostSpecific}`);
  assert.ok(r3.rehearsal.hostSpecific >= IDENTITY.length + LOCAL.length, `web3's host-specific paths kept: ${r3.rehearsal.hostSpecific}`);
  // web4: its own rehearsal, and why
  assert.equal(r4.rehearsal.mode, 'own', JSON.stringify(r4.rehearsal));
  assert.deepEqual(r4.rehearsal.conflicts?.map((c: { path: string }) => c.path), [HANDLER], JSON.stringify(r4.rehearsal));

  const env = { TMPDIR: privateTmp };
  const map2s: string[] = [];
  for (const [i, dir] of dirs.entries()) {
    const handler = readFileSync(join(dir, 'usr/lib/hello-service/handler'), 'utf8');
    assert.match(handler, /^version=2\.0$/m, `${targets[i]} has 2.0's handler`);
    assert.match(readFileSync(join(dir, 'var/lib/dpkg/status'), 'utf8'), /Package: hello-service\n(?:.+\n)*?Version: 2\.0\n/);
    assert.deepEqual(filesOf(dir, [...IDENTITY, ...LOCAL]), before[i], `${targets[i]} keeps its identity and local edits byte for byte`);
    const own = result.hosts.find((x: any) => x.target === targets[i]);
    const shown = (await cliJson(['show', own.run, '--store', store], env)).result;
    assert.deepEqual(shown.result.rehearsal, own.rehearsal, '`show` says how the run got its rehearsal, as the batch report does');
    assert.deepEqual(await treeVersusMap(dir, store, shown.result.map2, join(work, 'scratch-store')),
      { added: [], changed: [], removed: [] }, `${targets[i]} is exactly its own run's map2`);
    map2s.push(shown.result.map2);
  }
  assert.equal(new Set(map2s).size, 4, 'each host has a map2 of its own');
  assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no sandbox left');
  console.log(`# batch of 4 dir: clones, two sandboxes: ${batchSeconds.toFixed(0)} s; whole test ${((Date.now() - started) / 1000).toFixed(0)} s`);
});
