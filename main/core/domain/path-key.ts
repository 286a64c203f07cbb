// Path keys: how a Linux path (bytes) is kept in a manifest. Valid UTF-8 stays a plain string;
// anything else becomes 'b64:' + base64. A plain name that itself starts with 'b64:' is also encoded,
// so decoding is never ambiguous. Pure (TextEncoder/TextDecoder only) so core can use it.

const PREFIX = 'b64:';
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function keyFromBytes(bytes: Uint8Array): string {
  let text: string | undefined;
  try { text = strictDecoder.decode(bytes); } catch { text = undefined; }
  if (text !== undefined && !text.startsWith(PREFIX)) return text;
  return PREFIX + toBase64(bytes);
}

export function bytesFromKey(key: string): Uint8Array {
  return key.startsWith(PREFIX) ? fromBase64(key.slice(PREFIX.length)) : encoder.encode(key);
}

/** For display only (lossy): invalid bytes shown as \xNN. */
export function displayKey(key: string): string {
  if (!key.startsWith(PREFIX)) return key;
  const bytes = bytesFromKey(key);
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    // take the longest valid UTF-8 run, escape one byte otherwise
    let j = Math.min(bytes.length, i + 4);
    let done = false;
    for (; j > i; j--) {
      try { out += strictDecoder.decode(bytes.subarray(i, j)); i = j; done = true; break; } catch { /* shorter */ }
    }
    if (!done) { out += '\\x' + bytes[i]!.toString(16).padStart(2, '0'); i++; }
  }
  return out;
}

const isSurrogate = (c: number) => c >= 0xd800 && c < 0xe000;

/** Byte-order comparison of two keys (the manifest sort order). */
export function compareKeys(a: string, b: string): number {
  if (!a.startsWith(PREFIX) && !b.startsWith(PREFIX)) {
    // plain keys compare as text, without encoding (sorts of 100k paths call this millions of times):
    // UTF-8 byte order is code point order, which UTF-16 units follow except a surrogate (a code point
    // above U+FFFF) against U+E000..U+FFFF
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = a.charCodeAt(i), d = b.charCodeAt(i);
      if (c === d) continue;
      if (c >= 0xd800 && d >= 0xd800 && isSurrogate(c) !== isSurrogate(d)) return isSurrogate(c) ? 1 : -1;
      return c - d;
    }
    return a.length - b.length;
  }
  const x = bytesFromKey(a), y = bytesFromKey(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
