// `npm run bench [-- NAME...] [--json]`: runs bench/NAME.ts (default: every benchmark present).
// Each module exports `run(args: string[]): Promise<Record<string, unknown>>` and prints its own table.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const all = ['capture', 'rehearse', 'swap', 'demo', 'downloads', 'fleet', 'pool'];
const args = process.argv.slice(2);
const names = args.filter((a) => all.includes(a));
const results: Record<string, unknown> = {};
for (const name of names.length ? names : all) {
  const file = join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) { console.error(`bench ${name}: not built yet`); continue; }
  const mod = await import(file) as { run(args: string[]): Promise<Record<string, unknown>> };
  results[name] = await mod.run(args.filter((a) => !all.includes(a)));
}
if (args.includes('--json')) console.log(JSON.stringify(results));
