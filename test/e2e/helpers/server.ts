// Starts the real UI server (renderer bundle, token, WebSocket) over a fresh store with the given
// stage services; cleans everything up on close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageServices } from '../../../main/core/workflow/stage-services.ts';
import { createEngine } from '../../../main/server/engine.ts';
import { startServer, type RunningServer } from '../../../main/server/http-server.ts';
import { ensureRendererDist } from '../../../main/server/renderer-dist.ts';
import type { RunEngine } from '../../../main/server/run-engine.ts';

export interface TestServer { server: RunningServer; engine: RunEngine; store: string; close(): Promise<void> }

export async function startTestServer(services?: StageServices): Promise<TestServer> {
  const store = mkdtempSync(join(tmpdir(), 'understudy-e2e-store-'));
  const engine = await createEngine({ store, ...(services ? { services } : {}) });
  const server = await startServer({ engine, distDir: await ensureRendererDist() });
  return {
    server, engine, store,
    async close() {
      await server.close();
      await engine.close(10_000);
      rmSync(store, { recursive: true, force: true });
    },
  };
}
