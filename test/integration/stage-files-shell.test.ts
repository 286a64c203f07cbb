// Staging through the shell-based swap host (the seam ssh:// and `local` share), for real over a
// LocalShell: awkward names (spaces, a leading '-', a newline, non-ASCII, components and paths past the
// ustar limits), setuid and odd modes, owners 1234 and beyond the ustar id range, content from bytes and
// from files (one larger than a pipe's buffers) must land exactly, through ONE exec channel for any
// number of files; hosts without GNU tar get the same result file by file. A source that fails mid-stream
// fails the staging, and the channel ends (nothing left running).
// Opening the host makes /var/lib/understudy, so the tests run as root inside a private mount namespace
// with a tmpfs over /var/lib (this file is also that driver: STAGE_TEST_DRIVER set); a dir: swap whose
// store lost an object runs outside it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RemoteShell } from '../../main/core/ports/remote-shell.port.ts';
import type { StageFile, SwapHost } from '../../main/adapters/swap/swap-host.ts';
import { isUnderstudyError, UnderstudyError } from '../../main/core/domain/errors.ts';
import { buildTree1, mapOfTree, snapshot, upgradeTree } from '../unit/swap/helpers/tree.ts';

const FILE = new URL(import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;

if (process.env.STAGE_TEST_DRIVER) driverTests(); else outerTests();

function outerTests(): void {
  describe('staging through the shell host (in a private mount namespace)', () => {
    it('exact content, modes and owners; one exec channel; fallback without GNU tar; failures end the stream', { skip: !isRoot && 'needs root (owners, mount namespace)' }, () => {
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-ec',
        'mount -t tmpfs tmpfs /var/lib && exec "$0" --import tsx --test --test-reporter=spec "$1"', process.execPath, FILE],
      // (without NODE_TEST_CONTEXT the child reports as a test run of its own, in text)
      { encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined, STAGE_TEST_DRIVER: '1' }, timeout: 120_000 });
      assert.equal(r.status, 0, `driver failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /\bpass [1-9]/);
      assert.match(r.stdout, /\bfail 0\b/);
    });
  });

  describe('a swap whose store lost an object', () => {
    let base: string;
    before(() => { base = mkdtempSync(join(tmpdir(), 'understudy-stage-corrupt-')); });
    after(() => rmSync(base, { recursive: true, force: true }));

    it("fails with 'store-corrupt' naming the path before anything is staged; nothing to recover; the host is untouched", async () => {
      const { openDirHost } = await import('../../main/adapters/swap/dir-host.ts');
      const { swap } = await import('../../main/adapters/swap/swap.ts');
      const { recover } = await import('../../main/adapters/swap/recover.ts');
      const store = join(base, 'store'), t1 = join(base, 't1'), t2 = join(base, 't2'), host1 = join(base, 'h');
      buildTree1(t1);
      execFileSync('cp', ['-a', t1, t2]);
      upgradeTree(t2);
      const map1 = mapOfTree(t1, store), map2 = mapOfTree(t2, store);
      execFileSync('cp', ['-a', t1, host1]);
      // an object only map2 has (so nothing on the host can stand in for it)
      const m1 = new Set(map1.manifest.entries.map((e) => e.sha256).filter(Boolean));
      const lost = map2.manifest.entries.find((e) => e.type === 'file' && e.sha256 && !m1.has(e.sha256) && !e.sparse)!;
      unlinkSync(join(store, 'objects', lost.sha256!.slice(0, 2), lost.sha256!.slice(2)));
      const host = await openDirHost(`dir:${host1}`);
      await assert.rejects(swap({ host, store, map1, map2 }), (e: unknown) => {
        assert.ok(isUnderstudyError(e) && e.code === 'store-corrupt', String(e));
        assert.ok(e.message.includes(lost.sha256!) && e.message.includes(lost.path), e.message);
        return true;
      });
      // the store is checked for every object before the host gets a plan or a staging area
      assert.deepEqual(await host.list(join(host.work, 'tx')), []);
      assert.deepEqual(await recover(host), []);
      assert.deepEqual(snapshot(host1), snapshot(t1));
    });
  });
}

interface Want { dest: string; content: Buffer; mode: number; uid: number; gid: number }

/** Counts the channels a host opens: exec and execStream each start one command on the host. */
function counted(shell: RemoteShell & { execStream?: unknown }, rewrite: (cmd: string) => string = (c) => c) {
  const calls: string[] = [];
  const wrapped = new Proxy(shell, {
    get(target, prop) {
      if (prop === 'exec' || prop === 'execStream') {
        const fn = (target as unknown as Record<string, (c: string, o?: unknown) => unknown>)[prop]!.bind(target);
        return (cmd: string, o?: unknown) => { calls.push(cmd); return fn(rewrite(cmd), o); };
      }
      const v = (target as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { shell: wrapped, calls };
}

async function* from<T>(items: T[]): AsyncGenerator<T> { for (const i of items) yield i; }

function driverTests(): void {
  let root: string, src: string;
  let host: SwapHost, fallback: SwapHost;
  let calls: string[], fallbackCalls: string[];

  before(async () => {
    const { LocalShell } = await import('../../main/adapters/local/local-shell.ts');
    const { openShellHost } = await import('../../main/adapters/swap/ssh-host.ts');
    root = '/var/lib/stage-test';
    src = join(root, 'src');
    mkdirSync(src, { recursive: true });
    const c = counted(new LocalShell());
    host = await openShellHost('local', 'local', c.shell, '');
    calls = c.calls;
    // a host whose tar is not GNU tar: the opening probe finds none
    const f = counted(new LocalShell(), (cmd) => cmd.replace('tar --version', 'no-such-tar --version'));
    fallback = await openShellHost('local', 'local', f.shell, '');
    fallbackCalls = f.calls;
  });
  after(async () => { await host.close(); await fallback.close(); });

  function cases(area: string): { files: StageFile[]; want: Want[] } {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 13)) & 0xff;
    const longLeaf = 'l'.repeat(150);
    const deep = Array.from({ length: 12 }, (_, i) => `dir-${i}-${'d'.repeat(20)}`).join('/');
    const specs: Array<[string, Buffer, number, number, number, 'file' | 'bytes']> = [
      ['1/with spaces in it', Buffer.from('spaces\n'), 0o644, 0, 0, 'file'],
      ['2/-rf', Buffer.from('leading dash\n'), 0o640, 1234, 1234, 'bytes'],
      ['3/--no-same-owner', Buffer.from('an option-like name\n'), 0o600, 1234, 0, 'file'],
      [`4/${longLeaf}`, Buffer.from('a name past 100 bytes\n'), 0o644, 0, 1234, 'file'],
      [`5/${deep}/file`, Buffer.from('a path past 255 bytes\n'), 0o644, 1234, 1234, 'bytes'],
      ['6/suid-tool', Buffer.from('#!/bin/sh\necho setuid\n'), 0o4755, 1234, 1234, 'file'],
      ['7/sgid-sticky', Buffer.from('odd bits\n'), 0o3751, 0, 1234, 'file'],
      ['8/new\nline', Buffer.from('newline in the name\n'), 0o444, 1234, 5678, 'bytes'],
      ['9/ünïcødé', Buffer.from('utf-8 name\n'), 0o644, 0, 0, 'file'],
      ['10/.content', Buffer.from([0, 1, 2, 255, 254]), 0o600, 0, 0, 'bytes'],
      ['11/empty', Buffer.alloc(0), 0o644, 1234, 1234, 'file'],
      ['12/empty-bytes', Buffer.alloc(0), 0o000, 0, 0, 'bytes'],
      ['13/big', big, 0o755, 1234, 1234, 'file'],
      ['14/huge-ids', Buffer.from('ids past the ustar range\n'), 0o644, 300000, 4000000, 'file'],
    ];
    const files: StageFile[] = [];
    const want: Want[] = [];
    specs.forEach(([rel, content, mode, uid, gid, kind], i) => {
      const dest = join(area, 'stage', rel);
      want.push({ dest, content, mode, uid, gid });
      if (kind === 'bytes') { files.push({ dest, src: { bytes: new Uint8Array(content) }, mode, uid, gid }); return; }
      const file = join(src, `${area.replace(/\W/g, '_')}-${i}`);
      writeFileSync(file, content);
      files.push({ dest, src: { file, size: content.length }, mode, uid, gid });
    });
    return { files, want };
  }

  function check(want: Want[]): void {
    for (const w of want) {
      const st = lstatSync(w.dest);
      assert.ok(st.isFile(), w.dest);
      assert.deepEqual({ path: w.dest, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid },
        { path: w.dest, mode: w.mode, uid: w.uid, gid: w.gid });
      assert.ok(readFileSync(w.dest).equals(w.content), `content of ${w.dest}`);
    }
  }

  it('every awkward file lands exactly, through one exec channel, bytes counted as content', async () => {
    const area = join(root, 'area one');
    mkdirSync(join(area, 'stage'), { recursive: true });
    const { files, want } = cases(area);
    const before = calls.length;
    const sent = await host.stageFiles(from(files));
    assert.deepEqual(calls.slice(before).length, 1, calls.slice(before).join('\n'));
    assert.match(calls.at(-1)!, /^tar -x /);
    assert.equal(sent, want.reduce((n, w) => n + w.content.length, 0));
    check(want);
    // the stage directories come as directory entries (root's, 0755), not from a per-file mkdir
    const d = lstatSync(dirname(want[1]!.dest));
    assert.deepEqual([d.isDirectory(), d.mode & 0o7777, d.uid], [true, 0o755, 0]);
  });

  it('500 files still take one channel; the file-by-file fallback lands the same and costs a channel or two per file', async () => {
    const many = (area: string, n: number): StageFile[] => Array.from({ length: n }, (_, i) => ({
      dest: join(area, 'stage', String(i), `f${i}`), src: { bytes: Buffer.from(`file ${i}\n`) }, mode: 0o644 | (i % 2 ? 0o4000 : 0), uid: i, gid: 1000 + i,
    }));
    // (the fallback spawns a few processes per file: fewer of them keep the test quick)
    const a = many(join(root, 'many'), 500), b = many(join(root, 'many-fallback'), 60);
    const n0 = calls.length;
    await host.stageFiles(from(a));
    assert.equal(calls.length - n0, 1);
    const f0 = fallbackCalls.length;
    await fallback.stageFiles(from(b));
    assert.ok(fallbackCalls.length - f0 >= b.length, `fallback opened ${fallbackCalls.length - f0} channels`);
    for (const files of [a, b]) {
      check(files.map((f) => ({ dest: f.dest, content: Buffer.from((f.src as { bytes: Uint8Array }).bytes), mode: f.mode, uid: f.uid, gid: f.gid })));
    }
    // and the awkward set through the fallback
    const area = join(root, 'area fallback');
    mkdirSync(join(area, 'stage'), { recursive: true });
    const { files, want } = cases(area);
    assert.equal(await fallback.stageFiles(from(files)), want.reduce((n, w) => n + w.content.length, 0));
    check(want);
  });

  it('a source failing mid-stream fails the staging with its own error; the channel ends', async () => {
    const area = join(root, 'failing');
    const first: StageFile = { dest: join(area, 'stage', '1', 'ok'), src: { bytes: Buffer.from('ok\n') }, mode: 0o644, uid: 0, gid: 0 };
    async function* failing(): AsyncGenerator<StageFile> {
      yield first;
      throw new UnderstudyError('store-corrupt', 'object abc for /x/y is missing from the store');
    }
    await assert.rejects(host.stageFiles(failing()), (e: unknown) => isUnderstudyError(e) && e.code === 'store-corrupt');
    // a file shorter than its announced size: the stream cannot be finished
    const short = join(src, 'short');
    writeFileSync(short, 'only this');
    await assert.rejects(host.stageFiles(from([{ dest: join(area, 'stage', '2', 'short'), src: { file: short, size: 4096 }, mode: 0o644, uid: 0, gid: 0 }])));
    // a place tar cannot write: its own complaint comes back
    await assert.rejects(host.stageFiles(from([{ ...first, dest: '/proc/no-such-dir/x' }])),
      (e: unknown) => isUnderstudyError(e) && e.code === 'remote-command' && /no-such-dir/.test(e.message));
    // nothing of ours still runs, and the host still answers
    assert.equal(spawnSync('pgrep', ['-f', '^tar -x -f - -C /']).status, 1, 'no tar left running');
    const n0 = calls.length;
    assert.equal(await host.stageFiles(from([{ ...first, dest: join(area, 'stage', '3', 'after') }])), 3);
    assert.equal(calls.length - n0, 1);
    assert.equal(readFileSync(join(area, 'stage', '3', 'after'), 'utf8'), 'ok\n');
  });
}
