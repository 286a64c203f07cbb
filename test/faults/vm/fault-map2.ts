// map2 for the VM fault campaign, built once from map1 (a real capture of the demo host) the way an
// upgrade changes a host: a script and a unit edited, a binary grown, a binary and a symlink added, a
// directory with a file added, a file and a whole directory removed, a mode changed, a 1 MiB object
// added (so staging takes a while). Content goes into the store like a capture would put it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { compareKeys } from '../../../main/core/domain/path-key.ts';
import { saveMap } from '../../../main/adapters/store/map-store.ts';
import { objectFile } from '../../../main/adapters/swap/transaction.ts';

export interface MapRef { id: string; manifest: Manifest }

export const HANDLER = 'usr/lib/hello-service/handler';
const UNIT = 'usr/lib/systemd/system/hello-service@.service';
const GROWN_BINARY = 'usr/bin/tac';
const REMOVED_DIR = 'usr/share/doc/sed/examples';

/** Writes content into the store as a capture would; returns its sha256. */
export function putObject(store: string, bytes: Buffer): string {
  const sha = createHash('sha256').update(bytes).digest('hex');
  mkdirSync(dirname(objectFile(store, sha)), { recursive: true });
  writeFileSync(objectFile(store, sha), bytes);
  return sha;
}

export async function buildFaultMap2(store: string, m1: MapRef): Promise<MapRef> {
  const put = (bytes: Buffer) => putObject(store, bytes);
  const byPath = new Map(m1.manifest.entries.map((e) => [e.path, { ...e }]));
  const get = (p: string) => { const e = byPath.get(p); assert.ok(e, `map1 holds ${p}`); return e; };
  const content = (p: string) => readFileSync(objectFile(store, get(p).sha256!));
  const t = (BigInt(get(HANDLER).mtimeNs) + 86_400_000_000_123n).toString();
  const file = (p: string, bytes: Buffer, base: Partial<Entry>) =>
    byPath.set(p, { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, ...base, mtimeNs: t, size: bytes.length, sha256: put(bytes) } as Entry);

  const handler = content(HANDLER).toString().replace(/^version=1\.0$/m, 'version=2.0');
  assert.match(handler, /^version=2\.0$/m);
  file(HANDLER, Buffer.from(handler), get(HANDLER));
  const unit = content(UNIT).toString().replace(/^\[Service\]$/m, '[Service]\nEnvironment=UNDERSTUDY_FAULT_CAMPAIGN=2');
  assert.notEqual(unit, content(UNIT).toString());
  file(UNIT, Buffer.from(unit), get(UNIT));
  // an ELF with bytes appended still runs: a changed binary that nothing on the host breaks over
  file(GROWN_BINARY, Buffer.concat([content(GROWN_BINARY), Buffer.alloc(4096, 0x5a)]), get(GROWN_BINARY));
  file('usr/local/bin/hello-fault-probe', content('usr/bin/true'), { mode: 0o755 });
  byPath.set('usr/local/bin/hello-fault-link', { path: 'usr/local/bin/hello-fault-link', type: 'symlink', mode: 0o777, uid: 0, gid: 0,
    mtimeNs: t, size: 0, target: 'hello-fault-probe' } as Entry);
  const blob = Buffer.alloc(1 << 20);
  for (let i = 0; i < blob.length; i += 32) createHash('sha256').update(String(i)).digest().copy(blob, i);
  file('usr/lib/hello-service/assets.bin', blob, {});
  byPath.set('etc/understudy-fault', { path: 'etc/understudy-fault', type: 'dir', mode: 0o750, uid: 0, gid: 0, mtimeNs: t, size: 0 } as Entry);
  file('etc/understudy-fault/new.conf', Buffer.from('swapped=yes\n'), { mode: 0o640, gid: 4 });
  assert.ok(byPath.delete('etc/motd'), 'map1 holds etc/motd');
  let removed = 0;
  for (const p of [...byPath.keys()]) if (p === REMOVED_DIR || p.startsWith(`${REMOVED_DIR}/`)) { byPath.delete(p); removed++; }
  assert.ok(removed > 1, `map1 holds ${REMOVED_DIR} with files in it`);
  byPath.set('etc/issue.net', { ...get('etc/issue.net'), mode: 0o600 });

  const entries = [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path)) as Entry[];
  const manifest = { ...m1.manifest, capturedAt: new Date().toISOString(), entries };
  return { id: await saveMap(store, manifest), manifest };
}
