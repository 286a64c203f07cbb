// Electron main process: one hardened window onto the bundled renderer. The engine runs in this
// process and is reached only through the IPC router (ipc-router.ts), never via nodeIntegration.
// Run from the bundle electron/build.mjs writes (dist/main.mjs + dist/preload.js).
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';
import { composeEngine } from '../main/app/compose.ts';
import { resolveStoreDir } from '../main/app/store-dir.ts';
import { createEngine } from '../main/server/engine.ts';
import { registerIpcRouter } from './ipc-router.ts';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const indexHtml = join(import.meta.dirname, '..', '..', 'renderer', 'dist', 'index.html');

async function createWindow(): Promise<void> {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'understudy',
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  // No remote content: block navigation, new windows and permission requests.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  composeEngine(); // the real stage services, as the CLI wires them
  const engine = await createEngine({ store: resolveStoreDir() });
  const unregister = registerIpcRouter(engine, win, indexHtml);
  win.on('closed', unregister);
  await win.loadFile(indexHtml);
}

// Every renderer sandboxed, whatever a future window forgets to ask for.
app.enableSandbox();

void app.whenReady().then(async () => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  await createWindow();
});

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});
app.on('window-all-closed', () => app.quit());
