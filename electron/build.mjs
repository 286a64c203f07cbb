#!/usr/bin/env node
// Bundles the Electron shell: dist/main.mjs (ESM main process) and dist/preload.js (a sandboxed preload
// must be one CommonJS file: it can require only 'electron'). Native modules stay external.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', external: ['electron', 'better-sqlite3', '@unraid/libvirt', 'ssh2', 'cpu-features', 'esbuild'] };

export async function buildElectron() {
  await build({ ...common, entryPoints: [join(here, 'main.ts')], outfile: join(here, 'dist', 'main.mjs'), format: 'esm',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  await build({ ...common, entryPoints: [join(here, 'preload.ts')], outfile: join(here, 'dist', 'preload.js'), format: 'cjs' });
  return join(here, 'dist', 'main.mjs');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`built ${await buildElectron()}`);
}
