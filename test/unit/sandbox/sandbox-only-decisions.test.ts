// What becomes of a sandbox-only path at capture2 (effective-map2.ts), against the sandbox's own version
// recorded before the upgrade: unchanged by the upgrade -> the host's; changed -> merged into the host's,
// a conflict the operator decides (root's authorized_keys always), or kept as identity (host keys);
// runtime state never lands; package state is always part of the delta. Plus the replay of a text change
// (line-change.ts) and the map the swap applies when the operator chose the upgrade's version.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { effectiveMap2, withChosen } from '../../../main/app/stage-services/effective-map2.ts';
import { keptBackConflicts } from '../../../main/app/stage-services/kept-back.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';
import { bootChanges } from '../../../main/core/domain/boot-changes.ts';
import { rebaseChange, unifiedDiff } from '../../../main/core/domain/line-change.ts';
import { EDITED_PATHS, RUNTIME_STATE, isEdited, planSandboxEdits } from '../../../main/adapters/sandbox/sandbox-edits.ts';
import { objectPath } from '../../../main/adapters/store/store-paths.ts';
import { SANDBOX_CMDLINE } from '../../../main/adapters/sandbox/disk-build.ts';
import { ensureStore } from '../../../main/adapters/store/store-paths.ts';
import type { SandboxBase } from '../../../main/adapters/sandbox/sandbox-base.ts';

let store: string;
before(async () => { store = mkdtempSync(join(tmpdir(), 'understudy-sandbox-only-')); await ensureStore(store); });
after(() => rmSync(store, { recursive: true, force: true }));

/** A file entry whose content is in the store. */
function file(path: string, text: string, o: Partial<Entry> = {}): Entry {
  const sha256 = createHash('sha256').update(text).digest('hex');
  const p = objectPath(store, sha256);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1700000000000000000', size: Buffer.byteLength(text), sha256, ...o };
}
const dir = (path: string, o: Partial<Entry> = {}): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1000000000000000000', size: 0, ...o });
const link = (path: string, target: string): Entry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtimeNs: '1000000000000000000', size: 0, target });
const manifest = (entries: Entry[]): Manifest => ({
  version: 1, target: 'dir:/host', host: 'host', capturedAt: '2026-01-01T00:00:00Z',
  entries: [...entries].sort((a, b) => (a.path < b.path ? -1 : 1)), excluded: [], unstable: [], filesystems: [],
});
const text = (e: Entry | undefined) => readFileSync(objectPath(store, e!.sha256!), 'utf8');
const at = (m: Manifest, p: string) => m.entries.find((e) => e.path === p);
const later = (e: Entry) => ({ ...e, mtimeNs: '1800000000000000000' });

const HOST_FSTAB = 'UUID=1234 / ext4 errors=remount-ro 0 1\nUUID=abcd /boot ext4 defaults 0 2\n';
const SANDBOX_FSTAB = '# understudy sandbox: one merged root disk\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n';
const TMPFS = 'tmpfs /srv/scratch tmpfs defaults,size=64m 0 0\n';
const HOST_KEYS = 'ssh-ed25519 AAAAhost1 admin@laptop\nssh-rsa AAAAhost2 backup@vault\n';
const RUN_KEY = 'ssh-ed25519 AAAAperrun understudy-run\n';
const NEW_KEY = 'ssh-ed25519 AAAAnew vendor-support\n';

/** The upgrade of the four cases on one host, decided at capture2. */
function scenario() {
  const common = [dir(''), dir('etc'), dir('etc/ssh'), dir('root'), dir('var'), dir('var/lib'), dir('var/lib/systemd'), dir('var/log'),
    dir('var/lib/systemd/deb-systemd-helper-enabled'), dir('var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants'),
    dir('etc/systemd'), dir('etc/systemd/system'), dir('etc/systemd/system/multi-user.target.wants')];
  const hostKey = file('etc/ssh/ssh_host_ed25519_key', 'HOST PRIVATE\n', { mode: 0o600 });
  const map1 = manifest([...common, dir('root/.ssh', { mode: 0o700 }), file('etc/fstab', HOST_FSTAB), file('etc/machine-id', 'hostid\n', { mode: 0o444 }),
    file('root/.ssh/authorized_keys', HOST_KEYS, { mode: 0o600 }), hostKey, file('etc/passwd', 'root:x:0:0::/root:/bin/bash\n'),
    file('var/log/dpkg.log', 'old\n')]);
  // the sandbox before the upgrade: the edits and what its boot wrote
  const sandboxKey = file('etc/ssh/ssh_host_ed25519_key', 'SANDBOX PRIVATE\n', { mode: 0o600 });
  const base: SandboxBase = {
    since: 1_800_000_000,
    entries: {
      'etc/fstab': file('etc/fstab', SANDBOX_FSTAB),
      'etc/machine-id': file('etc/machine-id', 'sandboxid\n', { mode: 0o444 }),
      'root/.ssh/authorized_keys': file('root/.ssh/authorized_keys', RUN_KEY, { mode: 0o600 }),
      'etc/ssh/ssh_host_ed25519_key': sandboxKey,
      'etc/ssh/ssh_host_dsa_key': null,
      'etc/passwd': file('etc/passwd', 'root:x:0:0::/root:/bin/bash\nsystemd-oom:x:996:996::/:/usr/sbin/nologin\n'),
      'var/lib/understudy-sandbox': dir('var/lib/understudy-sandbox'),
      'var/lib/understudy-sandbox/booted': file('var/lib/understudy-sandbox/booted', ''),
      'etc/systemd/network': dir('etc/systemd/network'),
      'etc/systemd/network/99-understudy-sandbox.network': file('etc/systemd/network/99-understudy-sandbox.network', '[Match]\nName=e*\n'),
    },
  };
  // after the upgrade: a package enabled its unit through deb-systemd-helper, a tmpfs line, a new root key,
  // regenerated host keys
  const map2 = manifest([...common, dir('root/.ssh', { mode: 0o700 }), dir('var/lib/understudy-sandbox'), dir('etc/systemd/network'),
    later(file('etc/fstab', SANDBOX_FSTAB + TMPFS)), base.entries['etc/machine-id']!, base.entries['var/lib/understudy-sandbox/booted']!,
    base.entries['etc/systemd/network/99-understudy-sandbox.network']!,
    later(file('root/.ssh/authorized_keys', RUN_KEY + NEW_KEY, { mode: 0o600 })), file('etc/ssh/ssh_host_ed25519_key', 'REGENERATED\n', { mode: 0o600 }),
    base.entries['etc/passwd']!, file('var/log/dpkg.log', 'old\nnew\n'),
    file('var/lib/systemd/deb-systemd-helper-enabled/hello-dsh.service.dsh-also', '/etc/systemd/system/multi-user.target.wants/hello-dsh.service\n'),
    file('var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hello-dsh.service', ''),
    link('etc/systemd/system/multi-user.target.wants/hello-dsh.service', '/lib/systemd/system/hello-dsh.service')]);
  return { map1, map2, base, hostKey };
}

describe('sandbox-only paths at capture2', () => {
  it('package state and unit links are the delta; the tmpfs line lands in the host\'s own fstab; the rest is kept back', async () => {
    const { map1, map2, base, hostKey } = scenario();
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, map2, base);
    const d = diffMaps(map1, eff, false);
    assert.deepEqual(d.added, ['etc/systemd/system/multi-user.target.wants/hello-dsh.service',
      'var/lib/systemd/deb-systemd-helper-enabled/hello-dsh.service.dsh-also',
      'var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hello-dsh.service']);
    assert.deepEqual(d.changed, ['etc/fstab']);
    assert.deepEqual(d.removed, []);
    assert.equal(text(at(eff, 'etc/fstab')), HOST_FSTAB + TMPFS, 'the upgrade\'s line, in the host\'s own fstab');
    assert.equal(text(at(eff, 'root/.ssh/authorized_keys')), HOST_KEYS, 'root\'s keys unchanged until chosen');
    assert.deepEqual(at(eff, 'etc/ssh/ssh_host_ed25519_key'), hostKey);
    assert.equal(text(at(eff, 'etc/passwd')), 'root:x:0:0::/root:/bin/bash\n', 'what the sandbox\'s boot wrote stays out');
    assert.equal(text(at(eff, 'var/log/dpkg.log')), 'old\n');
    for (const p of ['var/lib/understudy-sandbox', 'etc/systemd/network']) assert.equal(at(eff, p), undefined, p);

    assert.deepEqual(keptBack.map((k) => [k.path, k.outcome]), [
      ['etc/fstab', 'merged'], ['etc/ssh/ssh_host_ed25519_key', 'identity'], ['root/.ssh/authorized_keys', 'conflict'], ['var/log/dpkg.log', 'runtime'],
    ]);
    const fstab = keptBack[0]!;
    assert.match(fstab.sandboxDiff!, /^\+tmpfs \/srv\/scratch/m);
    assert.match(fstab.hostDiff!, /^ UUID=abcd \/boot.*\n\+tmpfs \/srv\/scratch/m);
    const keys = keptBack[2]!;
    assert.equal(keys.hostDiff, '@@ -1,2 +1,3 @@\n ssh-ed25519 AAAAhost1 admin@laptop\n ssh-rsa AAAAhost2 backup@vault\n+ssh-ed25519 AAAAnew vendor-support');
    assert.equal(text(keys.ifChosen!.at(-1)), HOST_KEYS + NEW_KEY, 'chosen: the host\'s keys and the new one, never the per-run key');
    assert.equal(keys.ifChosen!.at(-1)!.mode, 0o600);
    assert.equal(text(keptBack[1]!.ifChosen![0]), 'REGENERATED\n');

    // at review: the key is a conflict with both diffs; the host keys are not
    const c = keptBackConflicts(keptBack);
    assert.deepEqual(c.map((x) => x.path), ['root/.ssh/authorized_keys']);
    assert.match(c[0]!.sandboxDiff!, /\+ssh-ed25519 AAAAnew vendor-support/);
    assert.match(c[0]!.sandbox, /only the operator/);

    // the swap's map: nothing chosen -> map2 itself; 'host' -> the same; 'sandbox' -> the key lands
    assert.equal(withChosen(eff, keptBack, {}), undefined);
    assert.equal(withChosen(eff, keptBack, { 'root/.ssh/authorized_keys': 'host' }), undefined);
    const chosen = withChosen(eff, keptBack, { 'root/.ssh/authorized_keys': 'sandbox' })!;
    assert.deepEqual(diffMaps(eff, chosen, false), { added: [], changed: ['root/.ssh/authorized_keys'], removed: [] });
    assert.equal(text(at(chosen, 'root/.ssh/authorized_keys')), HOST_KEYS + NEW_KEY);
    const keysChosen = withChosen(eff, keptBack, { 'etc/ssh/ssh_host_ed25519_key': 'sandbox' })!;
    assert.equal(text(at(keysChosen, 'etc/ssh/ssh_host_ed25519_key')), 'REGENERATED\n');
  });

  it('nothing the sandbox did lands when the upgrade changed none of it', async () => {
    const { map1, base } = scenario();
    const unchanged = manifest([...map1.entries.filter((e) => !base.entries[e.path] && e.path !== 'etc/ssh/ssh_host_ed25519_key' && e.path !== 'etc/fstab'),
      ...Object.values(base.entries).filter((e): e is Entry => e !== null)]);
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, unchanged, base);
    assert.deepEqual(diffMaps(map1, eff, false), { added: [], changed: [], removed: [] });
    assert.deepEqual(keptBack, []);
  });

  it('a host without root\'s keys: the sandbox\'s .ssh stays out; a chosen key brings it along, without the per-run key', async () => {
    const map1 = manifest([dir(''), dir('root')]);
    const base: SandboxBase = { since: 1, entries: {
      'root/.ssh': dir('root/.ssh', { mode: 0o700 }), 'root/.ssh/authorized_keys': file('root/.ssh/authorized_keys', RUN_KEY, { mode: 0o600 }),
    } };
    const map2 = manifest([dir(''), dir('root'), dir('root/.ssh', { mode: 0o700 }), file('root/.ssh/authorized_keys', RUN_KEY + NEW_KEY, { mode: 0o600 })]);
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, map2, base);
    assert.deepEqual(eff.entries.map((e) => e.path), ['', 'root']);
    assert.deepEqual(keptBack.map((k) => [k.path, k.outcome]), [['root/.ssh/authorized_keys', 'conflict']]);
    const chosen = withChosen(eff, keptBack, { 'root/.ssh/authorized_keys': 'sandbox' })!;
    assert.deepEqual(chosen.entries.map((e) => e.path), ['', 'root', 'root/.ssh', 'root/.ssh/authorized_keys']);
    assert.equal(text(at(chosen, 'root/.ssh/authorized_keys')), NEW_KEY);
  });

  it('the host\'s version was the sandbox\'s own: the upgrade\'s version lands as it is (removal too)', async () => {
    const same = file('etc/crypttab', '');
    const map1 = manifest([dir(''), dir('etc'), same, file('etc/passwd', 'root\n')]);
    const base: SandboxBase = { since: 1, entries: { 'etc/crypttab': same, 'etc/passwd': file('etc/passwd', 'root\n') } };
    const map2 = manifest([dir(''), dir('etc'), file('etc/passwd', 'root\nredis\n')]);
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, map2, base);
    assert.deepEqual(diffMaps(map1, eff, false), { added: [], changed: ['etc/passwd'], removed: ['etc/crypttab'] });
    assert.deepEqual(keptBack.map((k) => [k.path, k.outcome]), [['etc/crypttab', 'merged'], ['etc/passwd', 'merged']]);
  });

  it('a change to a line only the sandbox has is a conflict; binary files too', async () => {
    const map1 = manifest([dir(''), dir('etc'), file('etc/fstab', HOST_FSTAB), file('etc/ld.so.cache', 'host\0cache')]);
    const base: SandboxBase = { since: 1, entries: { 'etc/fstab': file('etc/fstab', SANDBOX_FSTAB), 'etc/ld.so.cache': file('etc/ld.so.cache', 'boot\0cache') } };
    const map2 = manifest([dir(''), dir('etc'), file('etc/fstab', SANDBOX_FSTAB.replace('rw,errors', 'rw,noatime,errors')), file('etc/ld.so.cache', 'new\0cache')]);
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, map2, base);
    assert.deepEqual(diffMaps(map1, eff, false), { added: [], changed: [], removed: [] });
    assert.deepEqual(keptBack.map((k) => [k.path, k.outcome]), [['etc/fstab', 'conflict'], ['etc/ld.so.cache', 'conflict']]);
    assert.equal(text(keptBack[1]!.ifChosen![0]), 'new\0cache');
  });

  it('an edit in a directory capture2 did not read (nothing changed there since the boot) is still the sandbox\'s own', async () => {
    const map1 = manifest([dir(''), dir('etc'), dir('etc/systemd'), dir('etc/systemd/network')]);
    const unit = file('etc/systemd/network/99-understudy-sandbox.network', '[Match]\nName=e*\n');
    const base: SandboxBase = { since: 1, entries: { 'etc/systemd/network/99-understudy-sandbox.network': unit } };
    // capture-changed.ts took map1's entries for the directory it skipped: the unit is not in map2
    const { manifest: eff, keptBack } = await effectiveMap2(store, map1, map1, base, ['etc/systemd/network']);
    assert.deepEqual(diffMaps(map1, eff, false), { added: [], changed: [], removed: [] });
    assert.deepEqual(keptBack, []);
  });

  it('a host without /etc/systemd (another init): the directories the edits made stay out, nothing that boots changes', async () => {
    // before the base was recorded, /etc/systemd/system/... made for the seed unit landed on the host as
    // added directories, and the unit-enablement rule sent such hosts to a reboot rehearsal
    const map1 = manifest([dir(''), dir('etc'), file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'), dir('sbin'), file('sbin/init', '#!/bin/sh\n')]);
    const plan = planSandboxEdits(map1);
    assert.ok(plan.mkdirs.includes('etc/systemd/system'), JSON.stringify(plan.mkdirs));
    const made = [...plan.mkdirs.map((d) => dir(d)), ...plan.ops.flatMap((o) => (o.op === 'write' ? [file(o.key, o.content)] : []))];
    const base: SandboxBase = { since: 1, entries: Object.fromEntries(made.map((e) => [e.path, e])) };
    const map2 = manifest([...map1.entries.filter((e) => e.path !== 'etc'), later(dir('etc')), ...made, file('etc/pool-version', '2\n')]);
    const { manifest: eff } = await effectiveMap2(store, map1, map2, base);
    const delta = diffMaps(map1, eff, false);
    assert.deepEqual(delta, { added: ['etc/pool-version'], changed: [], removed: [] });
    assert.deepEqual(bootChanges(delta).all, []);
  });

  it('without a recorded base (an older run) every edited path keeps the host\'s version', async () => {
    const map1 = manifest([dir(''), dir('etc'), file('etc/fstab', HOST_FSTAB)]);
    const map2 = manifest([dir(''), dir('etc'), file('etc/fstab', SANDBOX_FSTAB + TMPFS)]);
    const { manifest: eff } = await effectiveMap2(store, map1, map2);
    assert.equal(text(at(eff, 'etc/fstab')), HOST_FSTAB);
  });
});

describe('the edit plan and the lists', () => {
  it('every path the plan writes or removes is an edited path; no enablement symlink is edited', () => {
    const m = manifest([dir(''), dir('etc'), dir('etc/ssh'), file('etc/ssh/ssh_host_rsa_key', 'k'), file('etc/crypttab', 'x'), dir('root'), dir('root/.ssh'),
      file('root/.ssh/authorized_keys', 'k'), dir('lib'), dir('lib/systemd'), dir('lib/systemd/system'), file('lib/systemd/system/ssh.service', 'u'),
      file('lib/systemd/system/systemd-networkd.service', 'u')]);
    const plan = planSandboxEdits(m);
    for (const k of plan.touched) assert.ok(isEdited(k), k);
    assert.ok(![...plan.touched].some((k) => k.includes('.wants/')), 'no enablement symlink');
    assert.match(SANDBOX_CMDLINE, /^root=\/dev\/vda rw .*systemd\.wants=understudy-seed\.service systemd\.wants=systemd-networkd\.service systemd\.wants=ssh\.service .*systemd\.mask=timers\.target$/);
  });
  it('every pattern has its reason, and docs/engine-rules.md shows the same lists', () => {
    for (const r of [...EDITED_PATHS, ...RUNTIME_STATE]) assert.ok(r.why.length > 10, r.pattern);
    const docs = readFileSync(new URL('../../../docs/engine-rules.md', import.meta.url), 'utf8');
    const rows = [...docs.slice(docs.indexOf('## Sandbox-only paths')).matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [...EDITED_PATHS.map((r) => [r.pattern, r.why + (r.identity ? ' (identity)' : '')]), ...RUNTIME_STATE.map((r) => [r.pattern, r.why])]);
  });
});

describe('replaying a text change', () => {
  it('appends where the sandbox\'s neighbours are missing, removes what the host has, keeps the host\'s own lines', () => {
    assert.equal(rebaseChange(SANDBOX_FSTAB, SANDBOX_FSTAB + TMPFS, HOST_FSTAB, true), HOST_FSTAB + TMPFS);
    assert.equal(rebaseChange('a\nb\nc\n', 'a\nB\nc\n', 'x\na\nb\nc\ny\n', true), 'x\na\nB\nc\ny\n');
    assert.equal(rebaseChange('a\nb\n', 'b\n', 'a\nz\nb\n', true), 'z\nb\n');
    assert.equal(rebaseChange('a\nb\n', 'a\nb\n', 'host\n', true), 'host\n');
  });
  it('strict: gives up on a line only the sandbox had, or additions with no neighbour in the host\'s; lenient appends', () => {
    assert.equal(rebaseChange('sandbox\n', 'changed\n', 'host\n', true), null);
    assert.equal(rebaseChange('s1\ns2', 's1\nnew\ns2', 'host', true), null);
    assert.equal(rebaseChange('s1\ns2', 's1\nnew\ns2', 'host', false), 'host\nnew');
    assert.equal(rebaseChange('sandbox\n', 'sandbox\nnew\n', 'host\n', false), 'host\nnew\n');
    assert.equal(rebaseChange(RUN_KEY, RUN_KEY + NEW_KEY, HOST_KEYS, false), HOST_KEYS + NEW_KEY);
  });
  it('a unified diff with context and the final-newline fact', () => {
    assert.equal(unifiedDiff('a\nb\nc\nd\ne\nf\n', 'a\nb\nC\nd\ne\nf\n', 1), '@@ -2,3 +2,3 @@\n b\n-c\n+C\n d');
    assert.equal(unifiedDiff('a\n', 'a\nb'), '@@ -1,1 +1,2 @@\n a\n+b\n\\ final newline removed');
    assert.equal(unifiedDiff('same', 'same'), '');
  });
});
