// Validates one incoming command against the contract and routes it onto the engine facade. Shared by
// the WebSocket server and the Electron IPC router, so both faces behave identically. Nothing reaches
// the engine unless its name is known and its arguments parse.
import {
  TransportErrorCode, commands, fail, isCommandName, ok,
  type CommandName, type Envelope, type ParsedArgs,
} from '../contract/index.ts';
import type { EngineFacade } from './engine-facade.ts';

type Handlers = { [C in CommandName]: (engine: EngineFacade, args: ParsedArgs<C>) => Promise<unknown> };

const handlers: Handlers = {
  'runs:list': (e, a) => e.listRuns(a),
  'runs:get': (e, a) => e.getRun(a.run),
  'run:start': (e, a) => e.startRun(a),
  'run:approve': async (e, a) => { await e.approve(a.run, a.choices); return { run: a.run }; },
  'run:abort': async (e, a) => { await e.abort(a.run); return { run: a.run }; },
  'run:cancel': async (e, a) => { await e.cancel(a.run); return { run: a.run }; },
  'run:resume': async (e, a) => { await e.resume(a.run); return { run: a.run }; },
  'run:rollback': (e, a) => e.rollback(a.run),
  'hosts:list': (e) => e.listHosts(),
  'hosts:assess': (e, a) => e.assess(a.target),
  'maps:list': (e) => e.listMaps(),
  'batches:list': (e, a) => e.listBatches(a.limit),
};

export function createCommandRouter(engine: EngineFacade): (cmd: string, args: unknown) => Promise<Envelope<unknown>> {
  return async (cmd, args) => {
    if (!isCommandName(cmd)) return fail(TransportErrorCode.badCommand, `unknown command '${String(cmd).slice(0, 80)}'`);
    const parsed = commands[cmd].args.safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'arguments';
      return fail(TransportErrorCode.badArgs, `${cmd}: ${where}: ${issue?.message ?? 'invalid'}`);
    }
    try {
      const handler = handlers[cmd] as (e: EngineFacade, a: unknown) => Promise<unknown>;
      return ok(await handler(engine, parsed.data));
    } catch (err) {
      const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : TransportErrorCode.internal;
      return fail(code, err instanceof Error ? err.message : String(err));
    }
  };
}
