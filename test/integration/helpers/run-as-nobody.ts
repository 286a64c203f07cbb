// Runs one of this repo's TypeScript scripts as `nobody`, wherever the repo lies. A clone inside a private
// directory (a CI checkout under /root, or under `mktemp -d`: mode 700) is out of nobody's reach, so the
// repo is bind-mounted onto a world-traversable directory in a private mount namespace first; the
// namespace, and with it the mount, ends with the command.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NOBODY = 65534;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `argv` (a command line, relative paths resolved in the repo) as nobody: uid and gid 65534, no groups. */
export function spawnAsNobody(argv: string[], env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  const visible = mkdtempSync(join(tmpdir(), 'understudy-as-nobody-'));
  chmodSync(visible, 0o755);
  try {
    return spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'mount --bind "$1" "$2" && cd "$2" && shift 2 && '
      + `exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups -- "$@"`,
      'sh', REPO, visible, ...argv.map((a) => a.replaceAll('{repo}', visible))],
    { env: { ...env, PATH: process.env.PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } finally {
    rmdirSync(visible); // empty out here: the bind mount only ever existed inside the namespace
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
