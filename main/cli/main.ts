// `understudy` command line: parses arguments, resolves the store, runs one verb, maps errors to the
// contract's exit codes. Usage errors exit 2.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, CommanderError } from 'commander';
import { closeEngine, composeEngine } from '../app/compose.ts';
import { resolveStoreDir } from '../app/store-dir.ts';
import { makeOutput, printFailure } from './output.ts';
import { UnderstudyError } from '../core/domain/errors.ts';
import { verbs } from './verbs/index.ts';

// A reader that goes away (`understudy ... --json | head`) must not crash a run midway with EPIPE: the
// verb finishes (and cleans up its sandbox); what it would still have printed is dropped.
const dropWhenReaderGone = (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; };

/** A store path through a file (--store /etc/hostname) is the operator's mistake, not an internal ENOTDIR later. */
function refuseStoreThroughFile(store: string): void {
  for (let p = store; ; p = dirname(p)) {
    let st;
    try { st = statSync(p, { throwIfNoEntry: false }); } catch { st = undefined; } // ENOTDIR: a file further up
    if (st && !st.isDirectory()) throw new UnderstudyError('usage', `the store ${store} cannot be there: ${p} exists and is not a directory; choose another --store`);
    if (st || dirname(p) === p) return;
  }
}

export async function main(argv: string[]): Promise<number> {
  if (!process.stdout.listeners('error').includes(dropWhenReaderGone)) process.stdout.on('error', dropWhenReaderGone);
  let exitCode = 0;
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const program = new Command('understudy')
    .description('Rehearse a Linux host\'s upgrade on a sandbox clone of the real host, then swap the verified delta onto it.')
    .version('0.1.0')
    .option('--store <dir>', 'store directory (also accepted after the verb)')
    .option('--json', 'NDJSON events on stdout (also accepted after the verb)')
    .exitOverride()
    .showHelpAfterError('(run "understudy --help" for usage)')
    .addHelpText('after', '\nEvery verb takes --store DIR and --json. Exit codes: 0 ok, 1 error, 2 usage, 3 integrity failure,\n4 check failed in the sandbox, 5 conflict, 6 health failed (rolled back), 7 needs manual recovery.');

  for (const verb of verbs) {
    const cmd = verb.configure(new Command(verb.name).description(verb.summary))
      .option('--store <dir>', 'store directory (default $UNDERSTUDY_STORE or $XDG_DATA_HOME/understudy)')
      .option('--json', 'NDJSON events on stdout; the last line is the result')
      .exitOverride();
    cmd.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs[actionArgs.length - 1] as Command;
      // --store/--json may come before the verb (program options) or after it; after it wins
      const given = Object.fromEntries(Object.entries(command.opts()).filter(([, v]) => v !== undefined));
      const opts = { ...program.opts(), ...given };
      const out = makeOutput(Boolean(opts.json));
      try {
        const store = resolveStoreDir(opts.store);
        refuseStoreThroughFile(store);
        composeEngine(store);
        exitCode = await verb.run(
          { out, store, exit: (c) => { exitCode = c; }, signal: controller.signal },
          command.args,
          opts,
        );
      } catch (err) {
        exitCode = printFailure(out, err);
      } finally {
        await closeEngine().catch(() => undefined);
      }
    });
    program.addCommand(cmd);
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version: exit 0. No verb at all: commander printed the help as an error (exit code 1).
      if (err.exitCode === 0) return 0;
      const message = err.code === 'commander.help' ? 'no verb given: understudy VERB ... (understudy --help lists them)' : err.message.replace(/^error: /, '');
      // commander has said what is wrong on stderr; with --json the last stdout line is still the result
      const jsonWanted = argv.slice(0, argv.indexOf('--') === -1 ? undefined : argv.indexOf('--')).includes('--json');
      if (jsonWanted) printFailure(makeOutput(true), new UnderstudyError('usage', message));
      return 2;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}
