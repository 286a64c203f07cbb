// Renderer entry: picks the transport (Electron's preload api, else the WebSocket with the page's
// token) and mounts the app. The only place that knows which face it runs in.
import { createRoot } from 'react-dom/client';
import { createIpcTransport, type UnderstudyApi } from '../../main/contract/ipc-transport.ts';
import { createWsTransport, type ConnectionState } from '../../main/contract/ws-transport.ts';
import type { Transport } from '../../main/contract/index.ts';
import { App } from './app.tsx';
import { TransportContext } from './transport-context.tsx';
import './styles.css';

declare global {
  interface Window { understudy?: UnderstudyApi }
}

function pickTransport(): { transport: Transport; onState?: (cb: (s: ConnectionState) => void) => () => void } {
  if (window.understudy) return { transport: createIpcTransport(window.understudy) };
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const ws = createWsTransport(`ws://${window.location.host}/ws?token=${encodeURIComponent(token)}`);
  return { transport: ws, onState: (cb) => ws.onState(cb) };
}

const { transport, onState } = pickTransport();
createRoot(document.getElementById('root')!).render(
  <TransportContext.Provider value={transport}>
    <App onConnectionState={onState} />
  </TransportContext.Provider>,
);
