// Pure formatting of Progress for people: "capturing  █████░░░ 1.2 GB / 2.0 GB  45 MB/s  ETA 18s".
// Without a total there is no bar and no ETA (nothing honest to show).
import type { Progress } from './events.ts';

export interface ProgressFormat {
  /** Bar width in cells. */
  width?: number;
  /** 'bytes' (default) prints sizes; 'items' prints plain counts. */
  unit?: 'bytes' | 'items';
  /** Columns the stage name is padded to (default 10). */
  labelWidth?: number;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal units, one decimal below 10 ("1.2 GB", "45 MB"), whole bytes below 1 kB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) { v /= 1000; i++; }
  if (i === 0) return `${Math.round(v)} B`;
  // 9.96 rounds to "10.0": switch to the integer form when the rounded value reaches 10
  return `${v < 9.95 ? v.toFixed(1) : Math.round(v).toString()} ${UNITS[i]}`;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Seconds left: the reported ETA, else what the rate implies; undefined when unknowable. */
export function etaSeconds(p: Progress): number | undefined {
  if (p.total === undefined || p.current === undefined) return undefined;
  if (p.etaSec !== undefined) return p.etaSec;
  if (!p.bytesPerSec || p.bytesPerSec <= 0) return undefined;
  return Math.max(0, (p.total - p.current) / p.bytesPerSec);
}

export function progressBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.floor(f * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

export function formatProgress(p: Progress, fmt: ProgressFormat = {}): string {
  const width = fmt.width ?? 8;
  const amount = fmt.unit === 'items' ? (n: number) => String(n) : formatBytes;
  const parts: string[] = [];
  const hasTotal = p.total !== undefined && p.total > 0;
  if (hasTotal && p.current !== undefined) {
    parts.push(`${progressBar(p.current / p.total!, width)} ${amount(p.current)} / ${amount(p.total!)}`);
  } else if (p.current !== undefined) {
    parts.push(amount(p.current));
  }
  if (p.bytesPerSec !== undefined && p.bytesPerSec > 0) {
    parts.push(fmt.unit === 'items' ? `${Math.round(p.bytesPerSec)}/s` : `${formatBytes(p.bytesPerSec)}/s`);
  }
  const eta = hasTotal ? etaSeconds(p) : undefined;
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  if (p.step) parts.push(p.step);
  return `${p.stage.padEnd(fmt.labelWidth ?? 10)} ${parts.join('  ')}`.trimEnd();
}
