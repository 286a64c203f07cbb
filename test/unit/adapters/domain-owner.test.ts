// Telling a libvirt domain's owner apart: recorded in the domain XML, read back from what libvirt returns,
// and judged gone only for a process of this machine and this boot that no longer runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { currentOwner, ownerFromXml, ownerIsGone, ownerMetadataXml } from '../../../main/adapters/libvirt/domain-owner.ts';
import { buildDomainXml } from '../../../main/adapters/libvirt/domain-xml.ts';

describe('libvirt domain owner', () => {
  const me = currentOwner();

  it('round-trips through the domain XML, also as libvirt rewrites it with a prefix', () => {
    const odd = { ...me, host: 'a"b<&c' };
    const xml = buildDomainXml({ name: 'x', disks: [], kernel: '/k', cmdline: '', memoryMiB: 64, cpus: 1, forwardSsh: false, serialLog: '/s' },
      { name: 'understudy-x', accel: 'tcg', sshPort: 0, uid: 0, gid: 0, ownerMetadata: ownerMetadataXml(odd) });
    assert.deepEqual(ownerFromXml(xml), odd);
    const asLibvirtSaysIt = `<domain><metadata>\n    <us:owner xmlns:us="urn:understudy:domain-owner" host="h" boot-id="b" pid="42" start-ticks="7"/>\n  </metadata></domain>`;
    assert.deepEqual(ownerFromXml(asLibvirtSaysIt), { host: 'h', bootId: 'b', pid: 42, startTicks: '7' });
    assert.equal(ownerFromXml('<domain><name>understudy-old</name></domain>'), undefined, 'no owner recorded: not ours to judge');
    assert.equal(ownerFromXml(asLibvirtSaysIt.replace('pid="42"', 'pid="x"')), undefined);
  });

  it('is gone only when the pid no longer runs, or now belongs to another process', () => {
    assert.ok(me.bootId !== '' && me.startTicks !== '', 'this machine exposes boot id and start times');
    assert.equal(ownerIsGone(me), false, 'this very process');
    const exited = spawnSync('true').pid!;
    assert.equal(ownerIsGone({ ...me, pid: exited }), true, 'a process that exited');
    assert.equal(ownerIsGone({ ...me, startTicks: String(Number(me.startTicks) - 1) }), true, 'our pid, started at another time: reused');
  });

  it('never judges a process of another machine or of another boot', () => {
    const exited = spawnSync('true').pid!;
    assert.equal(ownerIsGone({ ...me, pid: exited, host: `${me.host}-other` }), false);
    assert.equal(ownerIsGone({ ...me, pid: exited, bootId: 'another-boot' }), false);
  });
});
