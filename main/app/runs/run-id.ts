// Run ids sort by start time and stay short enough to type: 20261125-223104-9f3a.
import { randomBytes } from 'node:crypto';

export function newRunId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T22:31:04.123Z
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${randomBytes(2).toString('hex')}`;
}
