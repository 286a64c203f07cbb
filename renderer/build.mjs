#!/usr/bin/env node
// Bundles the renderer with esbuild into renderer/dist (index.html, app.js, app.css).
// `node renderer/build.mjs` builds; `understudy serve` calls ensureRendererBuilt() and rebuilds only
// when a source (renderer/src, renderer/index.html, main/contract) is newer than the bundle.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, 'dist');
const sources = [join(here, 'src'), join(here, 'index.html'), join(here, '..', 'main', 'contract'), join(here, 'build.mjs')];

function newestMtime(path) {
  let st;
  try { st = statSync(path); } catch { return 0; }
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, n) => Math.max(m, newestMtime(join(path, n))), st.mtimeMs);
}

export function rendererIsStale() {
  const built = Math.min(...['index.html', 'app.js', 'app.css'].map((f) => newestMtime(join(distDir, f)) || 0));
  return built === 0 || sources.some((s) => newestMtime(s) > built);
}

export async function buildRenderer() {
  mkdirSync(distDir, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'src', 'main.tsx') },
    outdir: distDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    jsx: 'automatic',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(distDir, 'index.html'));
  return distDir;
}

export async function ensureRendererBuilt() {
  if (rendererIsStale()) await buildRenderer();
  return distDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildRenderer();
  console.log(`renderer built into ${distDir}`);
}
