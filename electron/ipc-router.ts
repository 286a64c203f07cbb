// Routes the preload's invokes onto the same contract router the WebSocket server uses, and pushes
// engine events to the window. Only the app's own top frame, showing the bundled renderer, may call.
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { pathToFileURL } from 'node:url';
import { fail } from '../main/contract/envelope.ts';
import { ipcChannels } from '../main/contract/ipc-transport.ts';
import { createCommandRouter } from '../main/server/command-router.ts';
import type { EngineFacade } from '../main/server/engine-facade.ts';

/** The sender must be our window's main frame, showing exactly our renderer's index.html. */
export function isTrustedSender(event: IpcMainInvokeEvent, win: BrowserWindow, indexHtml: string): boolean {
  const frame = event.senderFrame;
  if (!frame || win.isDestroyed() || event.sender !== win.webContents) return false;
  if (frame !== win.webContents.mainFrame) return false;
  const url = new URL(frame.url);
  return url.protocol === 'file:' && url.pathname === pathToFileURL(indexHtml).pathname;
}

export function registerIpcRouter(engine: EngineFacade, win: BrowserWindow, indexHtml: string): () => void {
  const route = createCommandRouter(engine);
  ipcMain.handle(ipcChannels.invoke, async (event, cmd: unknown, args: unknown) => {
    if (!isTrustedSender(event, win, indexHtml)) return fail('forbidden', 'IPC from an untrusted frame');
    return route(String(cmd), args);
  });
  const send = (event: string, payload: unknown) => {
    if (!win.isDestroyed()) win.webContents.send(ipcChannels.event, event, payload);
  };
  const unsubscribe = engine.subscribe({
    event: (e) => send('run:event', e),
    updated: (s) => send('run:updated', s),
  });
  return () => {
    ipcMain.removeHandler(ipcChannels.invoke);
    unsubscribe();
  };
}
