// Pure text for a batch's groups (printed before anything boots) and each host's rehearsal line.
import type { HostGroup } from '../../core/domain/fleet-groups.ts';

export function groupsText(groups: HostGroup[], failed: Array<{ target: string; error: string }> = []): string {
  const hosts = groups.reduce((n, g) => n + g.members.length, 0);
  const lines = [`${hosts} host${hosts === 1 ? '' : 's'} in ${groups.length} group${groups.length === 1 ? '' : 's'} (one rehearsal each; every other member verified path by path):`];
  groups.forEach((g, i) => {
    const basis = g.by === 'content' ? 'identical trees' : 'same release, packages and package sources';
    lines.push(`  group ${i + 1}: ${g.members.length} host${g.members.length === 1 ? '' : 's'}, ${g.label} (${basis})`);
    for (const m of g.members) lines.push(`    ${m}${m === g.representative ? '  <- rehearses for the group' : ''}`);
  });
  for (const f of failed) lines.push(`  not captured: ${f.target} (${f.error}); its run tries again`);
  return lines.join('\n');
}
