// Capture targets of the CLI contract: `dir:PATH`, `ssh://USER@HOST[:PORT]`, `local`.
import { UnderstudyError } from './errors.ts';

export type Target =
  | { kind: 'dir'; path: string }
  | { kind: 'local' }
  | { kind: 'ssh'; user: string; host: string; port: number };

export function parseTarget(text: string): Target {
  if (text === 'local') return { kind: 'local' };
  if (text.startsWith('dir:')) {
    const path = text.slice(4);
    if (!path) throw new UnderstudyError('bad-target', `target '${text}': dir: needs a path, e.g. dir:/srv/root`);
    return { kind: 'dir', path };
  }
  const m = /^ssh:\/\/([A-Za-z0-9._-]+)@(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(text);
  if (m) {
    const port = m[3] ? Number(m[3]) : 22;
    if (port < 1 || port > 65535) throw new UnderstudyError('bad-target', `target '${text}': port out of range`);
    return { kind: 'ssh', user: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new UnderstudyError('bad-target', `target '${text}' is not dir:PATH, ssh://USER@HOST[:PORT] or local`);
}

/** The canonical spelling recorded in maps (so re-captures of one host find each other). */
export function targetString(t: Target, absDir?: string): string {
  if (t.kind === 'local') return 'local';
  if (t.kind === 'dir') return `dir:${absDir ?? t.path}`;
  return `ssh://${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
