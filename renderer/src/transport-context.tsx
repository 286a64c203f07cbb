// The renderer's one way to the engine: a Transport from context. Screens never know which kind.
import { createContext, useContext, useEffect, useState } from 'react';
import type { CommandArgs, CommandName, CommandResult, Transport } from '../../main/contract/index.ts';

export const TransportContext = createContext<Transport | null>(null);

export function useTransport(): Transport {
  const t = useContext(TransportContext);
  if (!t) throw new Error('no Transport provided');
  return t;
}

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; code: string; message: string };

/** Invokes a command on mount and whenever `deps` change; `reload` repeats it. */
export function useCommand<C extends CommandName>(cmd: C, args: CommandArgs<C>, deps: unknown[] = []): [Loaded<CommandResult<C>>, () => void] {
  const t = useTransport();
  const [result, setResult] = useState<Loaded<CommandResult<C>>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    void t.invoke(cmd, args).then((env) => {
      if (!live) return;
      setResult(env.ok ? { state: 'ok', value: env.value } : { state: 'error', ...env.error });
    });
    return () => { live = false; };
  }, [t, cmd, tick, ...deps]);
  return [result, () => setTick((n) => n + 1)];
}
