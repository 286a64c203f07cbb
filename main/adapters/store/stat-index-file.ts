// The stat index on disk (STORE/stat-index/<mapId>.idx): one record per path, `pathKey NUL value NUL`, in
// the order the capture made them. Neither part can hold a NUL (a path key is UTF-8 text of a name without
// NUL, or base64; a value is ASCII digits, hex and JSON of xattr names/base64 values and extents).
// Loaded, it stays one Buffer with an open-addressing table of record offsets: no JS string per path and
// no JSON.parse. On /usr (139k entries) that is its 25 MB file plus 1 MB, where a parsed JSON object took
// ~85 MB of heap and most of a second to build.

const NUL = 0;
const ASCII = /^[\x00-\x7f]*$/;

/** FNV-1a of bytes [start, end) of `b`. */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

export class StatIndexFile {
  private constructor(
    private readonly buf: Buffer,
    /** Record start offset + 1 (0 = free slot), by hash of the path key bytes. */
    private readonly table: Uint32Array,
    readonly size: number,
  ) {}

  static readonly EMPTY = StatIndexFile.parse(Buffer.alloc(0));

  /** Indexes the records of `buf` (see the file comment). A truncated last record is ignored. */
  static parse(buf: Buffer): StatIndexFile {
    let nuls = 0;
    for (let p = buf.indexOf(NUL); p >= 0; p = buf.indexOf(NUL, p + 1)) nuls++;
    let slots = 16;
    while (slots < nuls) slots *= 2; // nuls = 2 per record: the table stays at most half full
    const table = new Uint32Array(slots);
    const mask = slots - 1;
    let size = 0;
    for (let start = 0; start < buf.length;) {
      const keyEnd = buf.indexOf(NUL, start);
      const valEnd = keyEnd < 0 ? -1 : buf.indexOf(NUL, keyEnd + 1);
      if (valEnd < 0) break;
      let slot = hashBytes(buf, start, keyEnd) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = start + 1;
      size++;
      start = valEnd + 1;
    }
    return new StatIndexFile(buf, table, size);
  }

  /** The records of `pairs`, encoded (the file's bytes). */
  static *encode(pairs: Iterable<readonly [string, string]>, pieceChars = 1 << 20): Generator<string> {
    let piece = '';
    for (const [k, v] of pairs) {
      if (k.includes('\0') || v.includes('\0')) throw new Error(`stat index record with a NUL: ${JSON.stringify(k)}`);
      piece += k + '\0' + v + '\0';
      if (piece.length >= pieceChars) { yield piece; piece = ''; }
    }
    if (piece) yield piece;
  }

  static fromPairs(pairs: Iterable<readonly [string, string]>): StatIndexFile {
    return StatIndexFile.parse(Buffer.from([...StatIndexFile.encode(pairs)].join(''), 'utf8'));
  }

  /** The value recorded for path key `key`. */
  get(key: string): string | undefined {
    if (this.size === 0) return undefined;
    if (!ASCII.test(key)) return this.getBytes(Buffer.from(key, 'utf8'));
    // a plain ASCII key is its own bytes: hashed and compared without encoding it
    const mask = this.table.length - 1, buf = this.buf, n = key.length;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    for (let slot = (h >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot]!;
      if (at === 0) return undefined;
      const start = at - 1;
      if (start + n >= buf.length || buf[start + n] !== NUL) continue;
      let i = 0;
      while (i < n && buf[start + i] === key.charCodeAt(i)) i++;
      if (i === n) return buf.toString('utf8', start + n + 1, buf.indexOf(NUL, start + n + 1));
    }
  }

  private getBytes(kb: Buffer): string | undefined {
    const mask = this.table.length - 1;
    for (let slot = hashBytes(kb, 0, kb.length) & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot]!;
      if (at === 0) return undefined;
      const start = at - 1, end = start + kb.length;
      if (end < this.buf.length && this.buf[end] === NUL && this.buf.compare(kb, 0, kb.length, start, end) === 0) {
        return this.buf.toString('utf8', end + 1, this.buf.indexOf(NUL, end + 1));
      }
    }
  }

  /** Every [path key, value], in file order. */
  *pairs(): Generator<[string, string]> {
    for (let start = 0; start < this.buf.length;) {
      const keyEnd = this.buf.indexOf(NUL, start);
      const valEnd = keyEnd < 0 ? -1 : this.buf.indexOf(NUL, keyEnd + 1);
      if (valEnd < 0) return;
      yield [this.buf.toString('utf8', start, keyEnd), this.buf.toString('utf8', keyEnd + 1, valEnd)];
      start = valEnd + 1;
    }
  }
}
