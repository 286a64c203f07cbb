import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineSplitter } from '../../../main/app/stage-services/line-splitter.ts';
import { followSerial } from '../../../main/app/stage-services/serial-follower.ts';

test('chunks that end mid-line come out as whole lines; the tail on flush', () => {
  const got: string[] = [];
  const s = lineSplitter((l) => got.push(l));
  s.push('Get:1 http://10.0.2.100 ./ Pack');
  s.push('ages [1 kB]\r\nReading pack');
  s.push('age lists...\n');
  s.push('Done');
  assert.deepEqual(got, ['Get:1 http://10.0.2.100 ./ Packages [1 kB]', 'Reading package lists...']);
  s.flush();
  assert.deepEqual(got.at(-1), 'Done');
});

test('a serial console file that appears late and grows is followed line by line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'understudy-serial-'));
  try {
    const file = join(dir, 'serial.log');
    const got: string[] = [];
    const f = followSerial(file, (l) => got.push(l), 20);
    await new Promise((r) => setTimeout(r, 60));
    await writeFile(file, '[    0.000000] Linux version 6.1\n[    0.1');
    await new Promise((r) => setTimeout(r, 80));
    await appendFile(file, '] Command line: root=/dev/vda\nlogin: ');
    await f.stop();
    assert.deepEqual(got, ['[    0.000000] Linux version 6.1', '[    0.1] Command line: root=/dev/vda', 'login: ']);
  } finally { await rm(dir, { recursive: true, force: true }); }
});
