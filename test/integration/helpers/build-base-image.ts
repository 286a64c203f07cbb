// Builds a map's sandbox base image in this process, for a test that runs it as another (non-root) user:
// `node --import tsx build-base-image.ts STORE MAP [--boot CMD]` prints {base} as JSON; with --boot it
// also boots the sandbox under QEMU, runs CMD in it over SSH and adds {output, exitCode, clean}, the VM
// always torn down. An error's message goes to stderr with exit status 1. The image cache and TMPDIR
// come from the environment, as for the CLI.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseImageFor } from '../../../main/adapters/sandbox/disk-build.ts';
import { startSandbox } from '../../../main/adapters/sandbox/sandbox-vm.ts';
import { QemuHypervisor } from '../../../main/adapters/qemu/index.ts';

async function bootAndRun(base: Awaited<ReturnType<typeof baseImageFor>>, command: string) {
  const runDir = await mkdtemp(join(tmpdir(), 'understudy-test-run-'));
  const sb = await startSandbox({ hypervisor: new QemuHypervisor(), base, runDir, sshTimeoutMs: 15 * 60_000 });
  let output = '';
  const collect = (c: Buffer) => { output += c.toString(); };
  const ran = sb.shell.exec(command, { onStdout: collect, onStderr: collect, timeoutMs: 120_000 });
  const { exitCode } = await ran.catch(async (e: unknown) => { await sb.close(120_000); throw e; });
  const { clean } = await sb.close(120_000);
  return { output, exitCode, clean, runDir };
}

const [store, map, flag, command] = process.argv.slice(2);
try {
  const base = await baseImageFor(store!, map!);
  const booted = flag === '--boot' ? await bootAndRun(base, command!) : {};
  process.stdout.write(JSON.stringify({ base, ...booted }) + '\n');
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
