// Pool entries as an operator writes them (--libvirt-uri values, a fleet file's pool:): what each member is,
// how it is reached over SSH, and clear usage errors for what cannot work.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CACHE_BYTES, isLocalMember, parsePool, parsePoolMember, parseSize } from '../../../main/core/domain/pool-spec.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

const usage = (re: RegExp) => (e: unknown) => isUnderstudyError(e) && e.code === 'usage' && re.test(e.message);

describe('pool members', () => {
  it('reads the SSH reach of a remote member from its URI', () => {
    const m = parsePoolMember('qemu+ssh://ops@hv1.example:2222/system?keyfile=/k/id&known_hosts=/k/kh&no_tty=1', 'me');
    assert.deepEqual(m.ssh, { user: 'ops', host: 'hv1.example', port: 2222 });
    assert.equal(m.name, 'hv1.example');
    assert.equal(m.identity, '/k/id');
    assert.equal(m.knownHosts, '/k/kh');
    assert.equal(m.cacheBytes, DEFAULT_CACHE_BYTES);
    assert.equal(m.capacity, undefined, 'the default capacity comes from the member itself');
    assert.equal(isLocalMember(m), false);
    assert.deepEqual(parsePoolMember('qemu+ssh://hv2/system', 'me').ssh, { user: 'me', host: 'hv2', port: 22 }, 'ssh\'s default user');
    assert.deepEqual(parsePoolMember('qemu+libssh2://root@[fd00::7]/system').ssh, { user: 'root', host: 'fd00::7', port: 22 });
  });

  it('takes the entry\'s own fields over the URI', () => {
    const m = parsePoolMember({ uri: 'qemu+ssh://root@hv1/system?keyfile=/a', name: 'rack1', ssh: 'ops@10.0.0.5:2200', identity: '/b',
      known_hosts: '/kh', work_dir: '/srv/us', capacity: 3, cache: '40G', accel: 'tcg' });
    assert.deepEqual(m, { uri: 'qemu+ssh://root@hv1/system?keyfile=/a', name: 'rack1', ssh: { user: 'ops', host: '10.0.0.5', port: 2200 },
      identity: '/b', knownHosts: '/kh', workDir: '/srv/us', capacity: 3, cacheBytes: 40 * 2 ** 30, accel: 'tcg' });
  });

  it('knows members on this machine: local libvirt URIs and the built-in QEMU', () => {
    assert.ok(isLocalMember(parsePoolMember('qemu:///system')));
    assert.ok(isLocalMember(parsePoolMember('qemu+unix:///system?socket=/run/x')));
    const q = parsePoolMember({ uri: 'qemu', capacity: 2 });
    assert.ok(isLocalMember(q));
    assert.equal(q.name, 'local');
    assert.throws(() => parsePoolMember({ uri: 'qemu', work_dir: '/x' }), usage(/built-in QEMU/));
  });

  it('refuses what cannot work, saying why', () => {
    assert.throws(() => parsePoolMember('hv1'), usage(/driver\[\+transport\]/));
    assert.throws(() => parsePoolMember('qemu+tls://hv1/system'), usage(/travel over SSH.*ssh: USER@HOST/));
    assert.deepEqual(parsePoolMember({ uri: 'qemu+tls://hv1/system', ssh: 'root@hv1' }).ssh, { user: 'root', host: 'hv1', port: 22 });
    assert.throws(() => parsePoolMember({ uri: 'qemu+ssh://hv1/system', capacity: 0 }), usage(/capacity/));
    assert.throws(() => parsePoolMember({ uri: 'qemu+ssh://hv1/system', work_dir: 'rel/dir' }), usage(/absolute/));
    assert.throws(() => parsePoolMember({ uri: 'qemu+ssh://hv1/system', cache: 'lots' }), usage(/not a size/));
    assert.throws(() => parsePool(['qemu+ssh://root@hv1/system', 'qemu+ssh://ops@hv1/session']), usage(/same name 'hv1'/));
    assert.equal(parsePool(['qemu+ssh://root@hv1/system', { uri: 'qemu+ssh://ops@hv1/session', name: 'hv1-session' }]).length, 2);
  });

  it('reads sizes', () => {
    assert.equal(parseSize('20G', 'x'), 20 * 2 ** 30);
    assert.equal(parseSize('512MiB', 'x'), 512 * 2 ** 20);
    assert.equal(parseSize('1.5T', 'x'), 1.5 * 2 ** 40);
    assert.equal(parseSize(4096, 'x'), 4096);
    assert.throws(() => parseSize('0G', 'x'), usage(/more than 0/));
  });
});
