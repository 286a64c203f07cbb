// batch takes --libvirt-uri more than once (a pool, docs/pool.md): every URI is a member, reached before
// any host starts; none reachable ends the batch at once, naming each member and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, runCli } from './run-cli.ts';

test('batch: repeated --libvirt-uri is a pool of every URI, each member reached first', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-pool-'));
  try {
    const fleet = join(dir, 'fleet.yaml');
    writeFileSync(fleet, 'plan:\n  run: "true"\nhosts:\n  - target: dir:/srv/a\n');
    // port 1 on two loopback addresses: refused at once
    const r = runCli(['batch', fleet, '--rehearse', '--hypervisor', 'libvirt', '--libvirt-uri', 'qemu+ssh://nobody@127.0.0.1:1/system',
      '--libvirt-uri', 'qemu+ssh://nobody@127.0.0.2:1/system', '--store', join(dir, 'store'), '--json']);
    const res = resultOf(r);
    assert.equal(res.ok, false, r.stdout + r.stderr);
    assert.equal(r.status, 1);
    assert.equal(res.error.code, 'hypervisor');
    assert.match(res.error.message, /no hypervisor of the pool can be reached: 127\.0\.0\.1: .+; 127\.0\.0\.2: .+/);
    const said = r.stdout.split('\n').filter((l) => l.includes('unreachable, skipped')).length;
    assert.equal(said, 2, `each member is reported: ${r.stdout}`);
    assert.equal(res.batch, undefined, 'no batch was recorded');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
