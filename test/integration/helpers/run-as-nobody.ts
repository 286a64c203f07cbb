// Runs one of this repo's TypeScript scripts as `nobody`, wherever the repo lies. A clone inside a private
// directory (a CI checkout under /root), or one that is itself private (`git clone . $(mktemp -d)`: mode
// 700), is out of nobody's reach. So each of the repo's top-level entries is bind-mounted into a fresh
// world-traversable directory, in a private mount namespace: the repo's own mode no longer stands in the
// way, and nothing of the checkout is changed. The namespace, and with it the mounts, ends with the command.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, unlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NOBODY = 65534;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `argv` (a command line, relative paths resolved in the repo) as nobody: uid and gid 65534, no groups. */
export function spawnAsNobody(argv: string[], env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  const visible = mkdtempSync(join(tmpdir(), 'understudy-as-nobody-'));
  chmodSync(visible, 0o755);
  // a mount point per entry, made out here so that they can be removed one by one (never recursively)
  // (a symlinked node_modules, as in a git worktree, is mounted as the directory it names)
  const kinds = new Map(readdirSync(REPO).filter((n) => n !== '.git')
    .flatMap((n) => { try { return [[n, statSync(join(REPO, n)).isDirectory()] as const]; } catch { return []; } }));
  const entries = [...kinds.keys()];
  const dirs = new Set(entries.filter((n) => kinds.get(n)));
  for (const n of entries) {
    if (dirs.has(n)) mkdirSync(join(visible, n));
    else writeFileSync(join(visible, n), '');
  }
  try {
    return spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'src=$1 dst=$2; shift 2; n=$1; shift; i=0; '
      + 'while [ $i -lt $n ]; do mount --bind "$src/$1" "$dst/$1" || exit 1; shift; i=$((i+1)); done; '
      + `cd "$dst" && exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups -- "$@"`,
      'sh', REPO, visible, String(entries.length), ...entries, ...argv.map((a) => a.replaceAll('{repo}', visible))],
    { env: { ...env, PATH: process.env.PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } finally {
    // the bind mounts only ever existed inside the namespace: out here these are empty
    for (const n of entries) {
      if (dirs.has(n)) rmdirSync(join(visible, n));
      else unlinkSync(join(visible, n));
    }
    rmdirSync(visible);
  }
}

/** stdout of `node --import tsx REPO/<script> ...args` run by nobody; throws (with its stderr) when it fails. */
export function runTsAsNobody(script: string, args: string[], env: Record<string, string | undefined>): string {
  const r = spawnAsNobody([process.execPath, '--import', 'tsx', join('{repo}', script), ...args], env);
  if (r.status !== 0) {
    throw Object.assign(new Error(`${script} as nobody: exit ${r.status ?? r.signal}: ${r.error?.message ?? ''}${r.stderr}`),
      { status: r.status, stderr: r.stderr });
  }
  return r.stdout;
}
