// A QEMU we start (sandbox or accelerator probe) must not outlive this process, even a kill -9: shown with
// `sleep` in the place of QEMU, spawned by a child node process that is then killed outright.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('../../../main/adapters/qemu/spawn-dying-with-us.ts', import.meta.url));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

it('a process spawned dying with us is killed by the kernel when we are killed with SIGKILL', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `const { spawnDyingWithUs } = await import(${JSON.stringify(HELPER)});
     const c = spawnDyingWithUs('sleep', ['600']); c.on('spawn', () => console.log(c.pid));
     setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(parent.stdout!, 'data') as [Buffer];
  const pid = Number(line.toString().trim());
  assert.ok(pid > 0 && alive(pid), `the child runs (${line.toString()})`);
  parent.kill('SIGKILL');
  await once(parent, 'exit');
  const end = Date.now() + 5_000;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  // a zombie would still answer kill 0 until reaped: its parent is gone, so init reaps it at once
  assert.equal(alive(pid), false, 'the child died with its parent');
});
