#!/usr/bin/env node
// Entry point for `npx understudy`: loads the TypeScript CLI through tsx, no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The verb's work is done (a server verb returns only once it stopped). Whatever still keeps the process
// alive now is a leak (a child process, a socket, a timer): name it and exit anyway, so a finished verb
// never hangs its caller. The VM adapters kill their children on 'exit'.
setTimeout(() => {
  const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'TTYWrap');
  process.stderr.write(`understudy: internal error: still open after the verb finished: ${open.join(', ') || 'timers'}; exiting anyway\n`);
  process.exit();
}, 3000).unref();
