// Hash routing: the page URL keeps its ?token= query untouched while screens change.
import { useEffect, useState } from 'react';

export type Route =
  | { screen: 'hosts' }
  | { screen: 'new'; target?: string }
  | { screen: 'history' }
  | { screen: 'fleets' }
  | { screen: 'run'; id: string };

export function parseRoute(hash: string): Route {
  const [head, arg] = hash.replace(/^#\/?/, '').split('/').map((s) => decodeURIComponent(s ?? ''));
  if (head === 'new') return { screen: 'new', target: arg || undefined };
  if (head === 'history') return { screen: 'history' };
  if (head === 'fleets') return { screen: 'fleets' };
  if (head === 'run' && arg) return { screen: 'run', id: arg };
  return { screen: 'hosts' };
}

export function href(r: Route): string {
  switch (r.screen) {
    case 'hosts': return '#/hosts';
    case 'history': return '#/history';
    case 'fleets': return '#/fleets';
    case 'new': return r.target ? `#/new/${encodeURIComponent(r.target)}` : '#/new';
    case 'run': return `#/run/${encodeURIComponent(r.id)}`;
  }
}

export const navigate = (r: Route): void => { window.location.hash = href(r); };

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
