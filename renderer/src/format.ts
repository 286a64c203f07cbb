// Pure formatting for numbers operators read at a glance: sizes, durations, ETAs, times.

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = d.toDateString() === new Date().toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return sameDay ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

export const shortId = (id: string | undefined): string => (id ? id.slice(0, 12) : '—');

export function secondsBetween(from: string | undefined, to?: string): number | undefined {
  if (!from) return undefined;
  const a = Date.parse(from);
  const b = to ? Date.parse(to) : Date.now();
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, (b - a) / 1000) : undefined;
}

/** Groups paths by their parent directory, directories sorted, for the Review file list. */
export function groupByDirectory(paths: string[]): Array<{ dir: string; names: string[] }> {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const clean = p.startsWith('/') ? p.slice(1) : p;
    const cut = clean.lastIndexOf('/');
    const dir = '/' + (cut < 0 ? '' : clean.slice(0, cut));
    const name = cut < 0 ? clean : clean.slice(cut + 1);
    const list = groups.get(dir) ?? [];
    list.push(name);
    groups.set(dir, list);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([dir, names]) => ({ dir, names: names.sort() }));
}
