// Test helpers: build small host trees, turn a tree into a map in a temp store (objects at
// STORE/objects/aa/bbbb..., manifest at STORE/maps/ID.json), and snapshot a tree independently of the
// swap code (lstat, sha256, getfattr) for exact comparisons.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry, Manifest } from '../../../../main/core/domain/manifest.ts';
import { compareKeys, keyFromBytes } from '../../../../main/core/domain/path-key.ts';

interface Walked { rel: Buffer; abs: Buffer }

function walk(root: string): Walked[] {
  const out: Walked[] = [{ rel: Buffer.alloc(0), abs: Buffer.from(root) }];
  const rec = (relDir: Buffer, absDir: Buffer) => {
    for (const name of readdirSync(absDir, { encoding: 'buffer' })) {
      const rel = relDir.length ? Buffer.concat([relDir, Buffer.from('/'), name]) : name;
      const abs = Buffer.concat([absDir, Buffer.from('/'), name]);
      out.push({ rel, abs });
      if (lstatSync(abs).isDirectory()) rec(rel, abs);
    }
  };
  rec(Buffer.alloc(0), Buffer.from(root));
  return out.sort((a, b) => compareKeys(keyFromBytes(a.rel), keyFromBytes(b.rel)));
}

/** xattrs of every walked path, one getfattr run; entries come back in argument order ('# file:' blocks). */
function xattrsOfAll(paths: Buffer[]): Array<Record<string, string>> {
  const out = paths.map(() => ({}) as Record<string, string>);
  if (!paths.length) return out;
  // getfattr prints a block only for paths that have attributes: match blocks back by the escaped name
  const esc = (b: Buffer) => [...b].map((c) => (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d ? '\\' + c.toString(8).padStart(3, '0') : String.fromCharCode(c))).join('');
  const index = new Map(paths.map((p, i) => [esc(p), i]));
  let text = '';
  try {
    text = execFileSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', ...paths.map((p) => p.toString('latin1'))],
      { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  } catch (e) { text = String((e as { stdout?: string }).stdout ?? ''); }
  let cur: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) { const i = index.get(line.slice(8)); cur = i === undefined ? undefined : out[i]; continue; }
    const m = /^([^#=][^=]*)=0s(.*)$/.exec(line);
    // names as a capture keys them: getfattr's \ooo escapes undone, one latin1 char per byte
    if (m && cur) cur[m[1]!.replace(/\\([0-7]{3})/g, (_e, o: string) => String.fromCharCode(parseInt(o, 8)))] = m[2]!;
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Makes a manifest of `root` and stores its objects; returns the map id and manifest. */
export function mapOfTree(root: string, store: string): { id: string; manifest: Manifest } {
  const entries: Entry[] = [];
  const leaders = new Map<string, string>();
  const walked = walk(root);
  const xattrs = xattrsOfAll(walked.map((w) => w.abs));
  for (const [i, { rel, abs }] of walked.entries()) {
    const st = lstatSync(abs, { bigint: true });
    const path = keyFromBytes(rel);
    const e: Entry = { path, type: 'file', mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString(), size: 0 };
    if (st.isDirectory()) e.type = 'dir';
    else if (st.isSymbolicLink()) { e.type = 'symlink'; e.target = keyFromBytes(readlinkSync(abs, { encoding: 'buffer' })); }
    else if (st.isFIFO()) e.type = 'fifo';
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      e.type = st.isBlockDevice() ? 'blockdev' : 'chardev'; e.rdevMajor = Number(st.rdev >> 8n); e.rdevMinor = Number(st.rdev & 0xffn);
    }
    else if (st.isFile()) {
      const ino = `${st.dev}:${st.ino}`;
      if (st.nlink > 1n && leaders.has(ino)) { e.type = 'hardlink'; e.linkTo = leaders.get(ino)!; }
      else {
        if (st.nlink > 1n) leaders.set(ino, path);
        const data = readFileSync(abs);
        e.size = data.length;
        e.sha256 = sha(data);
        const obj = join(store, 'objects', e.sha256.slice(0, 2), e.sha256.slice(2));
        if (!existsSync(obj)) { mkdirSync(join(store, 'objects', e.sha256.slice(0, 2)), { recursive: true }); copyFileSync(abs, obj); }
      }
    }
    const x = e.type === 'hardlink' ? {} : xattrs[i]!;
    if (Object.keys(x).length) e.xattrs = x;
    entries.push(e);
  }
  const manifest: Manifest = { version: 1, target: `dir:${root}`, host: root, capturedAt: new Date().toISOString(), entries, excluded: [], unstable: [], filesystems: [{ path: '', fstype: 'ext4' }] };
  const text = JSON.stringify(manifest);
  const id = sha(Buffer.from(text));
  mkdirSync(join(store, 'maps'), { recursive: true });
  writeFileSync(join(store, 'maps', `${id}.json`), text);
  return { id, manifest };
}

/** Every entry of a tree as one comparable line: type, mode, owner, mtime (ns), content hash, link, xattrs, link group. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const groups = new Map<string, string>();
  const walked = walk(root);
  const xattrs = xattrsOfAll(walked.map((w) => w.abs));
  for (const [i, { rel, abs }] of walked.entries()) {
    const st = lstatSync(abs, { bigint: true });
    const key = rel.toString('latin1');
    let what: string;
    if (st.isDirectory()) what = 'dir';
    else if (st.isSymbolicLink()) what = `symlink ${readlinkSync(abs, { encoding: 'buffer' }).toString('hex')}`;
    else if (st.isFile()) {
      const ino = `${st.ino}`;
      const group = st.nlink > 1n ? (groups.get(ino) ?? (groups.set(ino, key), key)) : '';
      what = `file ${sha(readFileSync(abs))} ${st.size} nlink=${st.nlink} group=${Buffer.from(group, 'latin1').toString('hex')}`;
    } else what = `special ${st.mode & 0o170000n} ${st.rdev}`;
    const x = Object.entries(xattrs[i]!).sort().map(([k, v]) => `${k}=${v}`).join(',');
    const mode = st.isSymbolicLink() ? '-' : (st.mode & 0o7777n).toString(8);
    out.set(key, `${what} mode=${mode} ${st.uid}:${st.gid} mtime=${st.mtimeNs} x=[${x}]`);
  }
  return out;
}

export function sh(script: string, cwd: string): void {
  execFileSync('sh', ['-ec', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** map1's tree: a small OS-like tree with the awkward cases a swap must carry exactly. */
export function buildTree1(dir: string): void {
  mkdirSync(dir, { recursive: true });
  sh(`
    mkdir -p etc/app usr/bin usr/share/doc var/lib/dpkg/info opt/old/sub srv/gone-dir data
    printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\nf=6\\n' > etc/app/app.conf
    printf 'tool v1\\n' > usr/bin/tool; chmod 4755 usr/bin/tool
    printf 'cap v1\\n' > usr/bin/capbin; chmod 755 usr/bin/capbin
    printf 'meta\\n' > etc/meta-only; chmod 644 etc/meta-only
    printf 'touched\\n' > etc/touched
    printf 'shared v1\\n' > usr/bin/a; ln usr/bin/a usr/bin/b
    ln -s /usr/bin/tool etc/alt; ln -s gone etc/old-link
    printf 'Package: hello\\nVersion: 1.0\\n' > var/lib/dpkg/status
    printf 'x\\n' > var/lib/dpkg/info/hello.list
    printf 'old\\n' > opt/old/sub/file; printf 'old2\\n' > opt/old/top
    printf 'was a dir\\n' > srv/gone-dir/inner
    printf 'becomes a dir\\n' > data/f2d
    printf 'spaces\\n' > 'usr/share/doc/sp ace
nl'
    printf 'dash\\n' > usr/share/doc/-rf
    printf 'bad\\n' > "usr/share/doc/$(printf 'inv\\377alid')"
    setfattr -n user.note -v hello etc/app/app.conf
    chown 1000:1000 etc/meta-only
    find . -exec touch -h -d @1600000000.123456789 {} +
  `, dir);
}

/** The sandbox's changes on top of tree1 (what the "upgrade" did). */
export function upgradeTree(dir: string): void {
  sh(`
    printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\nf=SIX\\n' > etc/app/app.conf
    printf 'tool v2 with more bytes\\n' > usr/bin/tool.new; chmod 4755 usr/bin/tool.new; mv usr/bin/tool.new usr/bin/tool
    setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= usr/bin/capbin
    chmod 600 etc/meta-only; chown 0:0 etc/meta-only
    touch -d @1700000000.5 etc/touched
    printf 'shared v2\\n' > usr/bin/a.new; rm usr/bin/a usr/bin/b; mv usr/bin/a.new usr/bin/a; ln usr/bin/a usr/bin/b
    rm etc/alt; ln -s /usr/bin/capbin etc/alt; rm etc/old-link; ln -s app/app.conf etc/new-link
    printf 'Package: hello\\nVersion: 2.0\\n' > var/lib/dpkg/status
    rm -r opt/old
    rm -r srv/gone-dir; printf 'now a file\\n' > srv/gone-dir
    rm data/f2d; mkdir data/f2d; printf 'inside\\n' > data/f2d/child
    mkdir -p usr/lib/newpkg/deep; printf 'new\\n' > usr/lib/newpkg/deep/file; chmod 2750 usr/lib/newpkg
    mkfifo usr/lib/newpkg/fifo
    printf 'spaces v2\\n' > 'usr/share/doc/sp ace
nl'
    rm usr/share/doc/-rf
    setfacl -m u:1000:r usr/bin/capbin 2>/dev/null || true
    find usr/lib/newpkg data/f2d srv etc/new-link etc/alt -exec touch -h -d @1700000001.000000007 {} +
  `, dir);
}
