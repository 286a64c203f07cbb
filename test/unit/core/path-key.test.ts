import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesFromKey, compareKeys, displayKey, keyFromBytes } from '../../../main/core/domain/path-key.ts';

test('valid UTF-8 names stay plain strings', () => {
  assert.equal(keyFromBytes(Buffer.from('etc/hosts')), 'etc/hosts');
  assert.equal(keyFromBytes(Buffer.from('a b\nc/-x/ünï')), 'a b\nc/-x/ünï');
});

test('invalid UTF-8 round-trips through b64: keys', () => {
  const raw = Buffer.from([0x61, 0x2f, 0xff, 0xfe, 0x62]);
  const key = keyFromBytes(raw);
  assert.ok(key.startsWith('b64:'));
  assert.deepEqual(Buffer.from(bytesFromKey(key)), raw);
  assert.equal(displayKey(key), 'a/\\xff\\xfeb');
});

test('a plain name that looks like an encoded key is itself encoded', () => {
  const key = keyFromBytes(Buffer.from('b64:abc'));
  assert.notEqual(key, 'b64:abc');
  assert.equal(Buffer.from(bytesFromKey(key)).toString(), 'b64:abc');
});

test('keys sort in byte order', () => {
  const keys = ['b', 'a/b', 'a', keyFromBytes(Buffer.from([0xff])), 'a-b'];
  keys.sort(compareKeys);
  assert.deepEqual(keys.slice(0, 4), ['a', 'a-b', 'a/b', 'b']);
});

test('plain keys compare like their UTF-8 bytes, astral characters and U+E000..U+FFFF included', () => {
  const alphabet = ['a', 'z', '/', '-', '\u00ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
  let seed = 7;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const word = () => Array.from({ length: rand(5) }, () => alphabet[rand(alphabet.length)]).join('');
  const bytes = (k: string) => Buffer.from(bytesFromKey(k));
  for (let i = 0; i < 5000; i++) {
    const a = word(), b = rand(4) ? word() : keyFromBytes(Buffer.from([0xff, rand(256)]));
    assert.equal(Math.sign(compareKeys(a, b)), Math.sign(Buffer.compare(bytes(a), bytes(b))), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});
