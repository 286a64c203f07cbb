// `understudy capture TARGET [--exclude PATH]...`: take a map of the host OS.
import type { Command } from 'commander';
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { checkExcludes } from '../exclude-option.ts';
import { capture } from '../../adapters/capture/capture.ts';
import { sshConnector } from '../../app/stage-services/ssh-connector.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export const captureVerb: Verb = {
  name: 'capture',
  summary: 'take a map of the host OS: capture TARGET [--exclude PATH]...',
  configure: (c: Command) => c
    .argument('<target>', 'dir:PATH | ssh://USER@HOST[:PORT] | local')
    .option('--exclude <path>', 'leave this path (and everything below) out; repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--full', 'read every file even when the previous map says it is unchanged')
    .option('--identity <file>', 'SSH private key (default: ssh-agent)')
    .option('--accept-new-host-key', 'record an unknown SSH host key instead of refusing it'),
  async run(rt, args, opts) {
    const target = args[0]!;
    checkExcludes(opts.exclude as string[]);
    let lastInfo = 0;
    const result = await capture({
      store: rt.store, target, excludes: opts.exclude, full: Boolean(opts.full), signal: rt.signal,
      onStage: (step) => { rt.out.event({ type: 'stage', stage: 'capture', step, state: 'active' }); rt.out.info(`capture: ${step}`); },
      onProgress: (p) => {
        rt.out.event({ type: 'progress', ...p });
        if (Date.now() - lastInfo > 2000 && p.current !== undefined) {
          lastInfo = Date.now();
          rt.out.info(`  ${mb(p.current)} of ${mb(p.total ?? 0)}  ${mb(p.bytesPerSec ?? 0)}/s  eta ${p.etaSec ?? '?'} s`);
        }
      },
      connect: sshConnector(rt.store, { identity: opts.identity, acceptNewHostKey: Boolean(opts.acceptNewHostKey) }, rt.signal),
    });
    printResult(rt.out, { ...result }, (r) =>
      `map ${r.map}\ncontent ${r.content}\n${r.files} files, ${mb(r.bytes as number)}; read ${mb(r.bytesRead as number)}, stored ${mb(r.bytesStored as number)} new; `
      + `${r.excluded} excluded, ${(r.unstable as string[]).length} unstable; ${(r.seconds as number).toFixed(1)} s`);
    return 0;
  },
};
