// Fidelity against apt itself: the host after `upgrade` equals the same upgrade done directly by apt in a
// chroot of map1's restore, file by file (type, content, mode, owner, link targets), except the documented
// runtime state and the host's identity. One sandbox boot covers the four cases at once, on a
// `dir:` copy of the demo host, through the workflow every face uses (RunService + real stage services):
//   - a package that enables its unit through deb-systemd-helper (hello-daemon, with an Alias=): its
//     state under /var/lib/systemd/deb-systemd-helper-enabled lands with the unit's links;
//   - a tmpfs line appended to /etc/fstab: it lands in the host's own fstab, not the sandbox's;
//   - a key added to root's authorized_keys: a conflict at review (both diffs), applied only when chosen,
//     and then without the sandbox's per-run key;
//   - host keys regenerated: reported as identity, the host's own kept.
// What a chroot cannot do that the booted sandbox does (start the service: nothing of it on disk here;
// write logs of the boot) falls under the runtime patterns; the comparison says so path by path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from 'xstate';
import { demoHostImage, mirrorImage } from '../../main/adapters/qemu/image-cache.ts';
import { startSandboxNetwork } from '../../main/adapters/proxy/sandbox-network.ts';
import { loadMap } from '../../main/adapters/store/map-store.ts';
import { restoreMap } from '../../main/adapters/restore/restore-map.ts';
import { isRuntimeState } from '../../main/adapters/sandbox/sandbox-edits.ts';
import { RunService } from '../../main/app/runs/run-service.ts';
import { realStageServices } from '../../main/app/stage-services/real-stage-services.ts';
import { reviewSummary } from '../../main/cli/render/review-summary.ts';
import { reviewOf } from '../../main/server/run-view.ts';
import { HOST_VOLATILE_DIRS } from '../../main/core/domain/map-scope.ts';

const NEW_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVwZ3JhZGUtYWRkZWQta2V5LWZvci10ZXN0cy0wMDAw vendor-support';
const TMPFS = 'tmpfs /srv/scratch tmpfs defaults,size=16m 0 0';
/** The same command in the sandbox and in the chroot. */
const UPGRADE = [
  'apt-get update -q',
  'DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello-daemon',
  `echo '${TMPFS}' >> /etc/fstab`,
  `echo '${NEW_KEY}' >> /root/.ssh/authorized_keys`,
  'rm -f /etc/ssh/ssh_host_*',
  'ssh-keygen -A',
].join(' && ');
const KEYS = 'root/.ssh/authorized_keys';

type Facts = Record<string, string>;
const run = promisify(execFile);

/** type, mode, owner and content (or link target) of every path of a tree but the volatile dirs' contents. */
async function facts(root: string): Promise<Facts> {
  const out: Facts = {};
  const walk = async (rel: string): Promise<void> => {
    const st = await lstat(join(root, rel));
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out[rel] = `link -> ${await readlink(join(root, rel))}`;
    else if (st.isFile()) out[rel] = `file ${meta} ${createHash('sha256').update(await readFile(join(root, rel))).digest('hex')}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${meta}`;
      if (rel in HOST_VOLATILE_DIRS) return; // never part of a map
      for (const n of (await readdir(join(root, rel))).sort()) await walk(rel ? `${rel}/${n}` : n);
    } else out[rel] = `${st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : st.isFIFO() ? 'fifo' : 'other'} ${meta} ${st.rdev}`;
  };
  await walk('');
  return out;
}

/** The same upgrade straight through apt, in a chroot of `tree`, through the same repository proxy the
 *  sandbox used (map1's sources, the demo mirror answering for the demo repository). */
async function upgradeInChroot(tree: string, store: string, map1: string, mirror: string): Promise<void> {
  const net = await startSandboxNetwork({ store, map1: (await loadMap(store, map1)).manifest, choices: { mirror: [mirror] } });
  const proxy = `http://127.0.0.1:${net.proxy.port}/`;
  const mounts = [['-t', 'proc', 'proc', join(tree, 'proc')], ['-t', 'sysfs', 'sysfs', join(tree, 'sys')], ['--bind', '/dev', join(tree, 'dev')]];
  const done: string[] = [];
  try {
    for (const a of mounts) { execFileSync('mount', a); done.push(a.at(-1)!); }
    // the proxy runs in this process: so run, not a sync spawn
    await run('chroot', [tree, '/bin/sh', '-c', UPGRADE], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', http_proxy: proxy, https_proxy: proxy, LC_ALL: 'C' }, timeout: 10 * 60_000, maxBuffer: 64 << 20,
    }).catch((e: { stderr?: string; stdout?: string; message: string }) => {
      assert.fail(`the upgrade in the chroot: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    });
  } finally {
    for (const d of done.reverse()) execFileSync('umount', [d]);
    await net.close();
  }
}

describe('fidelity: the host after upgrade equals apt in a chroot', { timeout: 30 * 60_000 }, () => {
  let work: string;
  let host: string;
  let mirror: string;
  let svc: RunService;

  before(async () => {
    const tree = (await demoHostImage({ build: true })).tree;
    mirror = (await mirrorImage({ build: true })).dir;
    work = mkdtempSync(join(tmpdir(), 'understudy-fidelity-'));
    host = join(work, 'host');
    execFileSync('cp', ['-a', tree, host]);
    const store = join(work, 'store');
    svc = new RunService({ store, services: (input) => realStageServices(input, store) });
  });

  after(async () => {
    await svc?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('one upgrade: deb-systemd-helper state, fstab, root\'s keys, host keys', async () => {
    const started = Date.now();
    const hostKeyBefore = readFileSync(join(host, 'etc/ssh/ssh_host_ed25519_key'));
    const keysBefore = readFileSync(join(host, KEYS), 'utf8');
    const h = svc.startRun('upgrade', {
      target: `dir:${host}`, command: UPGRADE, checks: ['systemctl is-active hello-daemon.service', 'systemctl is-active hello.service'],
      health: [], yes: false, reboot: 'never', rebootRehearsal: 'never', options: { mirror },
    });
    await waitFor(h.actor, (s) => s.value === 'review' || s.status === 'done', { timeout: 25 * 60_000 });
    const ctx = h.actor.getSnapshot().context;
    assert.equal(h.state(), 'review', JSON.stringify(ctx.error));
    const rehearsed = Date.now();

    // the delta: the package, its unit links and deb-systemd-helper's record of them, the host's fstab
    const delta = [...ctx.delta!.added, ...ctx.delta!.changed];
    for (const p of ['usr/lib/systemd/system/hello-daemon.service', 'etc/systemd/system/multi-user.target.wants/hello-daemon.service',
      'etc/systemd/system/hello.service', 'var/lib/systemd/deb-systemd-helper-enabled/hello-daemon.service.dsh-also',
      'var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hello-daemon.service', 'var/lib/dpkg/status', 'etc/fstab']) {
      assert.ok(delta.includes(p), `${p} in the delta: ${delta.join(' ')}`);
    }
    assert.ok(!delta.some((p) => p === KEYS || p.startsWith('etc/ssh/ssh_host_') || isRuntimeState(p) || /understudy-(sandbox|seed)/.test(p)),
      `nothing of the sandbox's own in the delta: ${delta.join(' ')}`);
    // review: what was kept back, the key as a conflict with both diffs, the host keys as identity
    const kept = Object.fromEntries((ctx.keptBack ?? []).map((k) => [k.path, k.outcome]));
    assert.equal(kept['etc/fstab'], 'merged');
    assert.equal(kept[KEYS], 'conflict');
    assert.equal(kept['etc/ssh/ssh_host_ed25519_key'], 'identity');
    assert.ok(Object.entries(kept).some(([p, o]) => p.startsWith('var/log/') && o === 'runtime'));
    assert.deepEqual(Object.entries(kept).filter(([, o]) => o === 'conflict').map(([p]) => p), [KEYS], JSON.stringify(ctx.keptBack));
    const conflict = ctx.conflicts!.find((c) => c.path === KEYS)!;
    assert.ok(conflict, `the key is a conflict at review: ${JSON.stringify(ctx.conflicts)}`);
    assert.match(conflict.sandboxDiff!, new RegExp(`^\\+${NEW_KEY}$`, 'm'));
    assert.match(conflict.hostDiff!, new RegExp(`^\\+${NEW_KEY}$`, 'm'));
    assert.doesNotMatch(conflict.hostDiff!, /^\+(?!ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVwZ3)/m, 'only the new key would be added');
    const text = reviewSummary(ctx);
    assert.match(text, /conflict root\/\.ssh\/authorized_keys/);
    assert.match(text, /merged +etc\/fstab/);
    assert.match(text, /identity +etc\/ssh\/ssh_host_ed25519_key/);
    assert.deepEqual(reviewOf(ctx)!.keptBack!.map((k) => k.path), ctx.keptBack!.map((k) => k.path), 'the UI\'s review shows the same');

    svc.approve(h.runId, { [KEYS]: 'sandbox' });
    const f = await h.finished;
    assert.equal(f.outcome, 'upgraded', JSON.stringify(f.result.error));
    const swapped = Date.now();

    // the host: the tmpfs line in its own fstab, the new key beside its own, its host keys unchanged
    assert.equal(readFileSync(join(host, 'etc/fstab'), 'utf8').split('\n').filter(Boolean).at(-1), TMPFS);
    assert.doesNotMatch(readFileSync(join(host, 'etc/fstab'), 'utf8'), /understudy/);
    assert.equal(readFileSync(join(host, KEYS), 'utf8'), `${keysBefore}${NEW_KEY}\n`);
    assert.deepEqual(readFileSync(join(host, 'etc/ssh/ssh_host_ed25519_key')), hostKeyBefore);

    // the same upgrade by apt, in a chroot of map1's restore
    const chroot = join(work, 'chroot');
    await restoreMap(join(work, 'store'), ctx.map1!, chroot);
    await upgradeInChroot(chroot, join(work, 'store'), ctx.map1!, mirror);
    const chrooted = Date.now();
    const [a, b] = await Promise.all([facts(host), facts(chroot)]);
    const differ = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((p) => a[p] !== b[p]).sort();
    // the documented exceptions: runtime state (the sandbox's logs, apt's and dpkg's included), the
    // host's identity (its own host keys kept; the chroot's are new), and apt's binary caches: both runs
    // write them (they land on the host), but they record the mtimes of the package lists they were built
    // from, which two downloads never share; apt rebuilds them when those no longer match
    const identity = differ.filter((p) => p.startsWith('etc/ssh/ssh_host_'));
    const aptCaches = differ.filter((p) => /^var\/cache\/apt\/[^/]+\.bin$/.test(p));
    assert.ok(aptCaches.every((p) => p in a && p in b), `apt's caches written by both: ${aptCaches.join(' ')}`);
    assert.deepEqual(differ.filter((p) => !isRuntimeState(p) && !identity.includes(p) && !aptCaches.includes(p)), [], 'the host equals apt\'s own result');
    assert.deepEqual(identity.sort(), ['ecdsa_key', 'ecdsa_key.pub', 'ed25519_key', 'ed25519_key.pub', 'rsa_key', 'rsa_key.pub'].map((k) => `etc/ssh/ssh_host_${k}`));
    const stages = Object.entries(ctx.timings).map(([k, t]) => `${k} ${(t.seconds ?? 0).toFixed(0)}`).join(', ');
    console.log(`fidelity: stages (s) ${stages}; rehearsal to review ${((rehearsed - started) / 1000).toFixed(0)} s, swap ${((swapped - rehearsed) / 1000).toFixed(0)} s, `
      + `chroot ${((chrooted - swapped) / 1000).toFixed(0)} s, compare ${((Date.now() - chrooted) / 1000).toFixed(0)} s; `
      + `${Object.keys(a).length} paths compared, ${differ.length} differ (runtime ${differ.filter(isRuntimeState).length}, identity ${identity.length})`);
  });
});
