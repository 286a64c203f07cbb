// Lists the failed tests of a TAP file (name, location, the first lines of the error), so that the
// end of `npm test`'s output says what failed even when only its tail is kept (as CI does).
// Suites whose only failure is a failed subtest are left out: the subtest itself is listed.

/** @returns {string[]} one block of lines per failed test */
export function tapFailures(text, maxErrorLines = 8) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length + 2;
    const yaml = [];
    if ((lines[i + 1] ?? '').trim() === '---') {
      for (let j = i + 2; j < lines.length && lines[j].trim() !== '...'; j++) yaml.push(lines[j].slice(indent));
    }
    const field = (k) => {
      const at = yaml.findIndex((l) => l.startsWith(`${k}: `));
      if (at < 0) return [];
      const v = yaml[at].slice(k.length + 2);
      if (!v.startsWith('|')) return [v.replace(/^'(.*)'$/, '$1')];
      const block = [];
      for (let j = at + 1; j < yaml.length && yaml[j].startsWith('  '); j++) block.push(yaml[j].slice(2));
      return block;
    };
    if (field('failureType')[0] === 'subtestsFailed') continue;
    const where = field('location')[0] ?? '';
    const error = field('error');
    out.push([`✖ ${m[2]}${where ? `  (${where})` : ''}`,
      ...error.slice(0, maxErrorLines).map((l) => `    ${l}`),
      ...(error.length > maxErrorLines ? [`    … ${error.length - maxErrorLines} more lines`] : [])].join('\n'));
  }
  return out;
}
