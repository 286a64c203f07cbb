// A plain text table: columns padded to their widest cell, the last column left ragged.
export function formatTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  return [head, ...body].map((cols) => cols.map((c, i) => i === cols.length - 1 ? c : c.padEnd(widths[i]!)).join('  ')).join('\n');
}
