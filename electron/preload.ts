// Preload (sandboxed, context-isolated): exposes ONE narrow typed api as `window.understudy` —
// two functions, never ipcRenderer itself. Names are checked here too; the main process validates
// every command again against the contract before anything runs.
import { contextBridge, ipcRenderer } from 'electron';
import { isCommandName } from '../main/contract/commands.ts';
import { fail } from '../main/contract/envelope.ts';
import { isEventName } from '../main/contract/events.ts';
import { ipcChannels, type UnderstudyApi } from '../main/contract/ipc-transport.ts';

const listeners = new Map<string, Set<(payload: unknown) => void>>();

// One listener for all pushed events; callbacks get the payload only (no IpcRendererEvent/sender).
ipcRenderer.on(ipcChannels.event, (_e, event: unknown, payload: unknown) => {
  if (typeof event !== 'string') return;
  for (const cb of [...(listeners.get(event) ?? [])]) cb(payload);
});

const api: UnderstudyApi = {
  async invoke(cmd, args) {
    if (!isCommandName(cmd)) return fail('bad-command', `unknown command '${String(cmd).slice(0, 80)}'`);
    return ipcRenderer.invoke(ipcChannels.invoke, cmd, args);
  },
  on(event, cb) {
    if (!isEventName(event) || typeof cb !== 'function') return () => {};
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(cb);
    return () => { set.delete(cb); };
  },
};

contextBridge.exposeInMainWorld('understudy', api);
