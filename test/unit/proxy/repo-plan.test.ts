// The sandbox's allowlist comes from map1 as captured: sources files and mirror+file lists read from the
// store's objects, apt's file-name and Enabled rules, file:/cdrom: sources reported; a --mirror that cannot
// serve the host's suites is refused before the sandbox boots.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { objectPath } from '../../../main/adapters/store/store-paths.ts';
import { planRepositories } from '../../../main/adapters/proxy/repo-plan.ts';
import { startSandboxNetwork } from '../../../main/adapters/proxy/sandbox-network.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { createServer } from 'node:http';

const base = { mode: 0o644, uid: 0, gid: 0, mtimeNs: '1700000000000000000', size: 0 };
const dir = (path: string): Entry => ({ ...base, path, type: 'dir', mode: 0o755 });

describe('repositories from a map', () => {
  let root: string, store: string, map: Manifest;
  const file = (path: string, text: string): Entry => {
    const sha = createHash('sha256').update(text).digest('hex');
    const p = objectPath(store, sha);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return { ...base, path, type: 'file', size: text.length, sha256: sha };
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'understudy-repo-plan-'));
    store = join(root, 'store');
    const entries: Entry[] = [
      dir(''), dir('etc'), dir('etc/apt'), dir('etc/apt/sources.list.d'), dir('srv'), dir('srv/repo'), dir('usr'), dir('usr/share'),
      file('etc/apt/sources.list', [
        'deb http://archive.example/debian bookworm main', 'deb https://security.example/debian-security bookworm-security main',
        'deb cdrom:[Debian 12]/ bookworm main', 'deb file:/srv/repo ./', 'deb file:///media/usb ./',
      ].join('\n')),
      file('etc/apt/sources.list.d/vendor.sources', [
        'Types: deb', 'URIs: https://vendor.example:8443/apt', 'Suites: stable', 'Components: main', '',
        'Types: deb', 'URIs: http://disabled.example/', 'Suites: x', 'Enabled: no', '',
        'Types: deb', 'URIs: mirror+file:/etc/apt/mirrors.txt', 'Suites: bookworm', 'Components: main',
      ].join('\n')),
      file('etc/apt/mirrors.txt', 'http://m1.example/debian\tpriority:1\nhttps://m2.example/debian\n'),
      file('etc/apt/sources.list.d/old.list.disabled', 'deb http://never.example/ x main\n'),
      { ...base, path: 'etc/apt/sources.list.d/linked.list', type: 'symlink', target: '/usr/share/linked.list' },
      file('usr/share/linked.list', 'deb http://linked.example/ y main\n'),
    ];
    map = { version: 1, target: 'dir:/x', host: 'x', capturedAt: '2026-01-01T00:00:00Z', entries, excluded: [], unstable: [], filesystems: [] };
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('allows exactly the hosts of enabled sources and mirror lists; reports what the sandbox cannot use', async () => {
    const plan = await planRepositories(store, map);
    assert.deepEqual(plan.endpoints.map((e) => `${e.host}:${e.port}`), [
      'archive.example:80', 'security.example:443', 'linked.example:80', 'vendor.example:8443', 'm1.example:80', 'm2.example:443']);
    assert.deepEqual(plan.local, ['file:/srv/repo']);
    assert.deepEqual(plan.unreachable.map((u) => [u.uri, u.file]), [
      ['cdrom:[Debian 12]/', '/etc/apt/sources.list:3'], ['file:///media/usb', '/etc/apt/sources.list:5']]);
    assert.match(plan.unreachable[1]!.reason, /\/media\/usb is not in the map/);
  });

  it('refuses, before boot, a --mirror that cannot serve the host suites, naming the suite and the source', async () => {
    const mirror = join(root, 'mirror');
    mkdirSync(join(mirror, 'dists', 'bookworm'), { recursive: true });
    writeFileSync(join(mirror, 'dists', 'bookworm', 'InRelease'), 'x');
    const lines: string[] = [];
    const ok = await startSandboxNetwork({ store, map1: map, choices: { mirror: [`http://archive.example/debian=${mirror}`] }, log: (l) => lines.push(l) });
    await ok.close();
    assert.ok(lines.some((l) => /may reach: .*archive\.example.*security\.example \(https\)/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /not reachable in the sandbox: cdrom:/.test(l)));
    await assert.rejects(startSandboxNetwork({ store, map1: map, choices: { mirror: [mirror] } }), (e) => isUnderstudyError(e) && e.code === 'usage'
      && /cannot serve suite 'y' of the host's source http:\/\/linked\.example\/ \(\/etc\/apt\/sources\.list\.d\/linked\.list line 1\)/.test(e.message));
  });

  it('checks a --mirror URL the same way, asking it with its own Host', async () => {
    const asked: string[] = [];
    const mirror = createServer((req, res) => {
      asked.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.writeHead(req.url === '/debian/dists/bookworm/InRelease' ? 200 : 404).end();
    });
    const port = await new Promise<number>((r) => mirror.listen(0, '127.0.0.1', () => r((mirror.address() as { port: number }).port)));
    try {
      const ok = await startSandboxNetwork({ store, map1: map, choices: { mirror: [`http://archive.example/debian=http://127.0.0.1:${port}/debian/`] } });
      await ok.close();
      assert.ok(asked.includes(`HEAD /debian/dists/bookworm/InRelease 127.0.0.1:${port}`), asked.join('\n'));
      await assert.rejects(startSandboxNetwork({ store, map1: map, choices: { mirror: [`http://linked.example/=http://127.0.0.1:${port}/`] } }),
        (e) => isUnderstudyError(e) && e.code === 'usage' && /--mirror http:\/\/127\.0\.0\.1:\d+\/ cannot serve suite 'y'/.test(e.message));
    } finally { mirror.close(); }
  });
});
