// A verb that is listed in the contract but not built yet: it says so and exits 1, no fake output.
import { UnderstudyError } from '../core/domain/errors.ts';
import type { Verb } from './verb.ts';
import type { Command } from 'commander';

export function notBuilt(name: string, summary: string, configure: (c: Command) => Command = (c) => c.allowUnknownOption().argument('[args...]')): Verb {
  return {
    name,
    summary,
    configure,
    async run() {
      throw new UnderstudyError('not-implemented', `'understudy ${name}' is not built yet in this version`);
    },
  };
}
