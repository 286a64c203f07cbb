#!/usr/bin/env node
// Entry point for `npx understudy`: loads the TypeScript CLI through tsx, no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
