// Pure text of what the operator approves at review: packages, file delta, checks, conflicts (with both
// diffs where known), the sandbox-only paths the run changed, disruption.
import type { RunContext } from '../../core/workflow/run-types.ts';
import { rebootSummary } from '../../core/workflow/reboot-rehearsal.ts';
import { networkLines } from './network-lines.ts';
import { keptBackLines } from './kept-back-lines.ts';

const indented = (title: string, diff: string | undefined) => (diff ? [`             ${title}:`, ...diff.split('\n').map((l) => `               ${l}`)] : []);

export function reviewSummary(c: RunContext): string {
  const lines = [`Review: ${c.input.target}  (${c.input.command})`];
  const p = c.packages;
  if (p) {
    for (const u of p.upgraded) lines.push(`  upgrade  ${u.name} ${u.from ?? '?'} -> ${u.to ?? '?'}`);
    for (const u of p.installed) lines.push(`  install  ${u.name} ${u.to ?? ''}`.trimEnd());
    for (const u of p.removed) lines.push(`  remove   ${u.name} ${u.from ?? ''}`.trimEnd());
  }
  if (c.delta) lines.push(`  files    ${c.delta.added.length} added, ${c.delta.changed.length} changed, ${c.delta.removed.length} removed`);
  for (const k of c.checks ?? []) lines.push(`  check    ${k.ok ? 'ok' : 'FAILED'}  ${k.cmd}`);
  lines.push(...networkLines(c.network, '  '));
  for (const k of c.conflicts ?? []) {
    lines.push(`  conflict ${k.path}  (host: ${k.host}; upgrade: ${k.sandbox})`, ...indented('the upgrade\'s change in the sandbox', k.sandboxDiff),
      ...indented('on the host if you take the upgrade\'s', k.hostDiff));
  }
  lines.push(...keptBackLines((c.keptBack ?? []).filter((k) => k.outcome !== 'conflict')));
  if (c.reboot) lines.push(`  boot     ${rebootSummary(c.reboot)}`);
  lines.push(`  reboot   ${c.input.reboot}`);
  return lines.join('\n');
}
