// Electron main process: one hardened window onto the renderer. The engine runs in this process and
// is reached only through the IPC bridge (ipc-router.ts), never via nodeIntegration.
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

function createWindow(): BrowserWindow {
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
    },
  });
  // No remote content: block navigation and new windows away from the bundled renderer.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void win.loadFile(join(import.meta.dirname, '..', 'renderer', 'dist', 'index.html'));
  return win;
}

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  createWindow();
});

app.on('window-all-closed', () => app.quit());
