// The plan as the host agent reads it: one step per line, space-separated fields. Any byte outside a
// small safe set is written as a POSIX printf octal escape (\0ooo) so names with spaces, newlines or
// invalid UTF-8 survive `read` and come back exact through `printf %b`. '-' means "none": a field
// never starts with a raw '-', but '-' inside a name stays raw (most host paths hold one, and the
// agent decodes an escaped field in a subshell: one fork per path).
import { bytesFromKey } from './path-key.ts';
import type { Meta, Op, Stage } from './swap-plan.ts';

const SAFE = /[A-Za-z0-9._/+=@:%^]/;

/** Each byte as the plan writes it (a plan holds every path of the delta: no regex per byte). */
const BYTE = Array.from({ length: 256 }, (_, b) => {
  const c = String.fromCharCode(b);
  return b < 0x80 && SAFE.test(c) ? c : '\\0' + b.toString(8).padStart(3, '0');
});

/** `afterFirst`: the bytes follow others in the field, so a leading '-' is no field's first byte. */
export function encodeBytes(bytes: Uint8Array, afterFirst = false): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += b === 0x2d && (i > 0 || afterFirst) ? '-' : BYTE[b]!;
  }
  return out;
}

/** A text of safe ASCII bytes only ('-' anywhere but first) is its own encoding: no bytes, no string per byte. */
const PLAIN = /^[A-Za-z0-9._/+=@:%^][A-Za-z0-9._/+=@:%^-]*$/;

const encText = (s: string) => (PLAIN.test(s) ? s : encodeBytes(new TextEncoder().encode(s)));
/** A path key as an absolute path below the agent's root ('' -> '/'). */
export const encPath = (key: string) =>
  '/' + (!key.startsWith('b64:') && PLAIN.test('x' + key) ? key : encodeBytes(bytesFromKey(key), true));

export function mtimeField(ns: string | undefined): string {
  if (ns === undefined) return '-';
  // a plain count of ns splits as text (no BigInt per path); times before 1970 go the long way
  if (/^\d+$/.test(ns)) return ns.length > 9 ? `${ns.slice(0, -9)}.${ns.slice(-9)}` : `0.${ns.padStart(9, '0')}`;
  const v = BigInt(ns);
  const sec = v / 1_000_000_000n, frac = v % 1_000_000_000n;
  return frac < 0n ? `${sec - 1n}.${(frac + 1_000_000_000n).toString().padStart(9, '0')}` : `${sec}.${frac.toString().padStart(9, '0')}`;
}

/**
 * An xattr name as setfattr reads one. Captures key names by their bytes, one latin1 char each (a name
 * with a char beyond latin1 is taken as text: its UTF-8 bytes); setfattr undoes \ooo escapes in a name,
 * so a backslash, an = (the plan splits name=0svalue there) and every byte outside printable ASCII go
 * escaped, and the name's bytes arrive exact.
 */
export function xattrNameField(name: string): string {
  const bytes = /[^\u0000-\u00ff]/.test(name) ? new TextEncoder().encode(name) : Uint8Array.from(name, (c) => c.charCodeAt(0));
  let quoted = '';
  for (const b of bytes) quoted += b <= 0x20 || b >= 0x7f || b === 0x5c || b === 0x3d ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b);
  return encText(quoted);
}

function metaFields(m: Meta | null): string[] {
  if (!m) return ['-', '-', '-', '-', '-', '-'];
  const xset = Object.entries(m.xset).map(([k, v]) => `${xattrNameField(k)}=0s${v}`).join(',');
  const xrm = m.xrm.map(xattrNameField).join(',');
  return [m.mode === undefined ? '-' : m.mode.toString(8).padStart(5, '0'), m.uid === undefined ? '-' : String(m.uid), m.gid === undefined ? '-' : String(m.gid), mtimeField(m.mtimeNs), xset || '-', xrm || '-'];
}

function stageLine(n: number, area: number, path: string, s: Stage): string {
  const at = `prep ${n} ${area} ${encPath(path)}`;
  const meta = metaFields(s.meta).join(' ');
  switch (s.type) {
    case 'file':
      if (s.source.kind === 'host-link') return `${at} ln ${encText(s.source.hostPath)} - - - - - -`;
      if (s.source.kind === 'host-copy') return `${at} cp ${encPath(s.source.hostPath)} ${meta}`;
      // owner and mode were set when the object was written (SwapHost.putObject): fewer commands per file
      return `${at} file - ${metaFields({ ...s.meta, mode: undefined, uid: undefined, gid: undefined }).join(' ')}`;
    case 'symlink': return `${at} symlink ${encodeBytes(bytesFromKey(s.target))} ${meta}`;
    case 'fifo': return `${at} fifo - ${meta}`;
    default: return `${at} ${s.type === 'chardev' ? 'c' : 'b'}:${s.major}:${s.minor} - ${meta}`;
  }
}

export function opLine(op: Op): string {
  switch (op.kind) {
    case 'mkdir': return `op ${op.n} mkdir ${op.area} ${encPath(op.path)} ${metaFields(op.meta).join(' ')}`;
    case 'put': return `op ${op.n} put ${op.area} ${encPath(op.path)}`;
    case 'link': return `op ${op.n} link ${op.area} ${encPath(op.path)} ${encPath(op.leader)}`;
    case 'del': return `op ${op.n} del ${op.area} ${encPath(op.path)}`;
    case 'meta': return `op ${op.n} meta - ${encPath(op.path)} ${metaFields(op.next).join(' ')} ${metaFields(op.prev).join(' ')}`;
  }
}

export interface PlanHeader {
  txid: string;
  kind: 'swap' | 'rollback';
  areas: string[] /** absolute dirs, host paths */;
  /**
   * op n -> a path that keeps the inode op n's undo slot holds (another name of its link group, untouched
   * by the transaction): after the commit the agent drops that slot if it still is that inode, so the
   * undo area adds no link to a file of the tree. A rollback re-links the path to that name instead.
   */
  rejoin?: Array<{ n: number; area: number; path: string }>;
  /**
   * Where op n's staged object is: 'flat' -> AREA/stage/N (hosts on the agent's perl path: no directory
   * per object to make and remove); otherwise AREA/stage/N/NAME, named like its target (the sh path
   * renames a directory's worth of them with one mv).
   */
  layout?: 'flat' | 'dirs';
}

/** The staged object of op n in `area` (a host directory), as the agent finds it. */
export function stagedPath(area: string, n: number, path: string, layout: PlanHeader['layout']): string {
  if (layout === 'flat') return `${area}/stage/${n}`;
  // a name that is not UTF-8 goes in as '.content' and the agent renames it
  const leaf = path.startsWith('b64:') ? '.content' : path.slice(path.lastIndexOf('/') + 1);
  return `${area}/stage/${n}/${leaf}`;
}

/** The whole plan file. Areas are absolute host directories (not below the root) on each filesystem. */
export function formatPlan(h: PlanHeader, ops: Op[]): string {
  return [...planChunks(h, ops)].join('');
}

/** Bytes of plan text per chunk: a release upgrade's plan is megabytes, never held whole. */
const CHUNK = 1 << 16;

/** The plan file as it is written: chunks of whole lines, made as they are taken. */
export function* planChunks(h: PlanHeader, ops: Op[]): Generator<string> {
  let buf = '';
  for (const l of planLines(h, ops)) {
    buf += l + '\n';
    if (buf.length >= CHUNK) { yield buf; buf = ''; }
  }
  yield buf;
}

function* planLines(h: PlanHeader, ops: Op[]): Generator<string> {
  yield `understudy-plan 1 ${h.txid} ${h.kind} ${ops.length}`;
  for (let i = 0; i < h.areas.length; i++) yield `area ${i} ${encText(h.areas[i]!)}`;
  if (h.layout === 'flat') yield 'layout flat';
  for (const op of ops) {
    if (op.kind === 'put') yield stageLine(op.n, op.area, op.path, op.stage);
    yield opLine(op);
  }
  for (const r of h.rejoin ?? []) yield `rejoin ${r.n} ${r.area} ${encPath(r.path)}`;
  yield 'end';
}
