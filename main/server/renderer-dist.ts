// Locates the built renderer, rebuilding it first when its sources are newer (renderer/build.mjs).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface RendererBuild { ensureRendererBuilt(): Promise<string>; buildRenderer(): Promise<string> }

const buildScript = join(import.meta.dirname, '..', '..', 'renderer', 'build.mjs');

export async function ensureRendererDist(): Promise<string> {
  const mod = (await import(pathToFileURL(buildScript).href)) as RendererBuild;
  return mod.ensureRendererBuilt();
}
