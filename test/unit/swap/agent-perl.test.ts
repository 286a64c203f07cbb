// The agent's perl path: it must run on what Debian's Essential perl-base alone ships (no perl-modules,
// no XS module beyond perl-base's), and land the same exact trees when this perl's syscall table is
// unknown (touch, setfattr and sync instead of utimensat, lsetxattr and syncfs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { perlAgentPath } from '../../../main/adapters/agent/agent-script.ts';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { snapshot } from './helpers/tree.ts';
import { standardPair } from './helpers/tree-pair.ts';

const p = standardPair('understudy-agent-perl-');
after(() => rmSync(p.base, { recursive: true, force: true }));

const PERL_BASE = '/usr/lib/x86_64-linux-gnu/perl-base';

test('agent.pl compiles with perl-base alone on @INC (every module it loads is Essential)', { skip: !existsSync(PERL_BASE) && 'not a Debian amd64 perl' }, () => {
  // compiling runs every `use`: a module outside perl-base fails to load here
  const compile = (file: string) => spawnSync('perl', ['-e',
    'BEGIN { @INC = grep { m{/perl-base\\z} } @INC } my $s = do { local $/; open my $f, "<", $ARGV[0] or die; <$f> }; eval "return; $s"; die $@ if $@',
    file], { encoding: 'utf8' });
  const r = compile(perlAgentPath);
  assert.equal(r.status, 0, r.stderr);
  // the check can fail: a module from perl-modules does not load that way
  const probe = join(p.base, 'uses-hires.pl');
  execFileSync('sh', ['-c', `printf 'use Time::HiRes ();\\n1;\\n' > '${probe}'`]);
  assert.notEqual(compile(probe).status, 0, 'Time::HiRes (perl-modules) must not load from perl-base alone');
});

test('without a syscall table (touch, setfattr, sync): swap lands exactly map2, rollback exactly map1', async () => {
  const dir = join(p.base, 'h-nosyscall');
  execFileSync('cp', ['-a', p.t1, dir]);
  const host = await openDirHost(`dir:${dir}`);
  const agentEnv = { UNDERSTUDY_AGENT_PATH: 'perl', UNDERSTUDY_AGENT_NO_SYSCALL: '1' };
  const s = await swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv });
  assert.equal(s.agentPath, 'perl');
  assert.deepEqual(snapshot(dir), snapshot(p.t2));
  await rollbackLatest({ host, store: p.store, agentEnv });
  assert.deepEqual(snapshot(dir), snapshot(p.t1));
});

test("'path' names the path apply takes: perl here, sh when forced", async () => {
  const dir = join(p.base, 'h-path');
  execFileSync('cp', ['-a', p.t1, dir]);
  const host = await openDirHost(`dir:${dir}`);
  assert.equal(await host.installAgent(), 'perl');
  assert.equal(await host.installAgent({ UNDERSTUDY_AGENT_PATH: 'sh' }), 'sh');
  const s = await swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv: { UNDERSTUDY_AGENT_PATH: 'sh' } });
  assert.equal(s.agentPath, 'sh');
  assert.deepEqual(snapshot(dir), snapshot(p.t2));
});
