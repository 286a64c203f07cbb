// Extended attributes of many files at once. Node has no xattr API, so paths stream NUL-separated into
// one `xargs -0 getfattr` pipeline while the walk goes on; getfattr prints only files that have
// attributes, names octal-escaped, values base64 ('-e base64'). '-m -' includes security.* and the
// POSIX ACLs (system.posix_acl_access/default); '-h' never follows symlinks.
import { spawn } from 'node:child_process';

/** Decodes getfattr's escaping (\ooo octal, \\) back to raw bytes. */
export function unquoteGetfattr(s: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === 0x5c && i + 3 < s.length + 0 && /^[0-7]{3}$/.test(s.toString('latin1', i + 1, i + 4))) {
      out.push(parseInt(s.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else if (c === 0x5c && s[i + 1] === 0x5c) { out.push(0x5c); i++; } else out.push(c);
  }
  return Buffer.from(out);
}

/** Escapes raw bytes for setfattr --restore / getfattr dump format. */
export function quoteGetfattr(b: Buffer): string {
  let out = '';
  for (const c of b) out += c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d ? '\\' + c.toString(8).padStart(3, '0') : String.fromCharCode(c);
  return out;
}

/** Parses a `getfattr -d -e base64` dump into path bytes (latin1 string key) -> {name: base64}. */
export function parseGetfattrDump(dump: Buffer): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let pos = 0;
  while (pos < dump.length) {
    let nl = dump.indexOf(0x0a, pos);
    if (nl < 0) nl = dump.length;
    const line = dump.subarray(pos, nl);
    pos = nl + 1;
    if (line.length === 0) { current = undefined; continue; }
    if (line.toString('latin1', 0, 8) === '# file: ') {
      current = {};
      out.set(unquoteGetfattr(line.subarray(8)).toString('latin1'), current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf(0x3d);
    const name = unquoteGetfattr(eq < 0 ? line : line.subarray(0, eq)).toString('latin1');
    let value = eq < 0 ? '' : line.toString('latin1', eq + 1);
    if (value === '""') value = '';
    current[name] = value.startsWith('0s') ? value.slice(2) : Buffer.from(value, 'latin1').toString('base64');
  }
  return out;
}

export interface XattrBatch {
  /** Queues one path relative to the cwd given at start ('.' for the root). */
  add(rel: Buffer): void;
  /** Ends input; resolves with path (as './'-relative raw bytes, latin1) -> xattrs. */
  done(): Promise<Map<string, Record<string, string>>>;
  /** Stops the reader when the capture fails before done(): a getfattr left waiting on its input would
   *  keep the process from ever exiting. */
  abort(): void;
}

export function startXattrBatch(cwd: string): XattrBatch {
  const child = spawn('xargs', ['-0', '-r', 'getfattr', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--'],
    { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => errs.push(c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  let queued: Buffer[] = [];
  let queuedBytes = 0;
  const flush = () => { if (queued.length) { child.stdin.write(Buffer.concat(queued)); queued = []; queuedBytes = 0; } };
  return {
    add(rel) {
      const p = rel.length === 0 ? Buffer.from('.') : Buffer.concat([Buffer.from('./'), rel]);
      queued.push(p, Buffer.from([0]));
      queuedBytes += p.length + 1;
      if (queuedBytes > 1 << 16) flush();
    },
    async done() {
      flush();
      child.stdin.end();
      const code = await exited;
      if (code === 127 || code === 126) {
        throw new Error(`getfattr is not installed (Debian package 'attr'): ${Buffer.concat(errs).toString().trim()}`);
      }
      return parseGetfattrDump(Buffer.concat(chunks));
    },
    abort() {
      child.stdin.destroy();
      child.kill('SIGKILL');
      exited.catch(() => undefined);
    },
  };
}
