// Shell: navigation, connection banner, keyboard shortcuts (Alt+1..4 for the sections), the screen.
import { useEffect, useState } from 'react';
import type { ConnectionState } from '../../main/contract/ws-transport.ts';
import { href, navigate, useRoute, type Route } from './router.ts';
import { FleetsScreen } from './screens/fleets.tsx';
import { HistoryScreen } from './screens/history.tsx';
import { HostsScreen } from './screens/hosts.tsx';
import { NewUpgradeScreen } from './screens/new-upgrade.tsx';
import { RunScreen } from './screens/run.tsx';

const sections: Array<{ route: Route; label: string; key: string }> = [
  { route: { screen: 'hosts' }, label: 'Hosts', key: '1' },
  { route: { screen: 'new' }, label: 'New upgrade', key: '2' },
  { route: { screen: 'history' }, label: 'History', key: '3' },
  { route: { screen: 'fleets' }, label: 'Fleets', key: '4' },
];

export function App({ onConnectionState }: { onConnectionState?: (cb: (s: ConnectionState) => void) => () => void }) {
  const route = useRoute();
  const [conn, setConn] = useState<ConnectionState>('open');
  useEffect(() => onConnectionState?.(setConn), [onConnectionState]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = e.altKey && !e.ctrlKey && !e.metaKey ? sections.find((x) => x.key === e.key) : undefined;
      if (s) { e.preventDefault(); navigate(s.route); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const current = route.screen === 'run' ? 'history' : route.screen;
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">understudy</span>
        <nav aria-label="Sections">
          {sections.map((s) => (
            <a key={s.key} href={href(s.route)} className={current === s.route.screen ? 'active' : ''}
              aria-current={current === s.route.screen ? 'page' : undefined} title={`Alt+${s.key}`}>
              {s.label}
            </a>
          ))}
        </nav>
        <span className={`conn conn-${conn}`} role="status">{conn === 'open' ? 'connected' : conn}</span>
      </header>
      {conn === 'closed' && <div className="banner error" role="alert">Lost the connection to understudy; reconnecting…</div>}
      <main className="content">
        {route.screen === 'hosts' && <HostsScreen />}
        {route.screen === 'new' && <NewUpgradeScreen initialTarget={route.target} />}
        {route.screen === 'history' && <HistoryScreen />}
        {route.screen === 'fleets' && <FleetsScreen />}
        {route.screen === 'run' && <RunScreen id={route.id} />}
      </main>
    </div>
  );
}
