// SwapHost over any RemoteShell: ssh:// targets (one ssh2 connection) and `local` (LocalShell, /bin/sh on
// this machine) build the same seam from their shell. Hosts have no Node, so content streams through
// one `tar -x` channel (stage-files.ts; `cat >` per file where the host has no GNU tar), the probe is remote-probe.sh, and the agent is agent.sh
// uploaded to WORK (only when its hash differs). A non-root ssh user works through passwordless `sudo -n`
// (the CLI contract's requirement); root needs nothing more.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget, targetString } from '../../core/domain/map-target.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { agentScript } from '../agent/agent-script.ts';
import type { StreamingShell } from '../ssh/ssh-shell.ts';
import { shellQuote as q } from '../capture/remote-listing.ts';
import { hostPath, type ProbeRequest } from './local-probe.ts';
import { probeRemote, type ShellRunner } from './remote-probe.ts';
import { stageOneByOne, TAR_EXTRACT, writeStageTar } from './stage-files.ts';
import type { AgentResult, HealthResult, StageFile, SwapHost, Text } from './swap-host.ts';

/** Makes WORK/tx/TXID ($1, $2) from the plan on stdin, all at once. The stream's end is no proof: an
 *  orchestrator killed mid-plan closes the channel, and `cat` takes that for the end of the plan. So the
 *  plan's own last line ('end') is checked before the directory gets its name; an incomplete one is
 *  removed, and no transaction exists (recovery would otherwise meet a plan it cannot read). */
export const CREATE_TX_SCRIPT = 'd="$1/tx/.$2.new" && mkdir -p "$1/tx" && rm -rf "$d" && mkdir "$d" && cat > "$d/plan" && '
  + '{ [ "$(tail -n 1 "$d/plan")" = end ] || { rm -rf "$d"; echo "the plan arrived incomplete" >&2; exit 1; }; } && mv "$d" "$1/tx/$2"';

export type SshConnect = (t: { user: string; host: string; port: number }) => Promise<RemoteShell>;

/** Where agent.sh, the journals and the records live on every host (the boot unit points here). */
export const HOST_WORK = '/var/lib/understudy';
const WORK_PARENT = HOST_WORK.slice(0, HOST_WORK.lastIndexOf('/'));
const makeWorkDir = `{ [ -d ${HOST_WORK} ] || { t=$(stat -c %y ${WORK_PARENT} 2>/dev/null); mkdir -p ${HOST_WORK} && `
  + `{ [ -z "$t" ] || touch -c -d "$t" ${WORK_PARENT} 2>/dev/null || :; }; }; }`;


const envWords = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(' ');

/** Runs one command, collecting raw stdout (Buffers, for paths and content) and stderr. */
async function collect(shell: RemoteShell, command: string, opts: { stdin?: Buffer | string; signal?: AbortSignal } = {}) {
  const out: Buffer[] = [];
  let stderr = '';
  const r = await shell.exec(command, { ...opts, onStdout: (c) => out.push(Buffer.from(c)), onStderr: (c) => { stderr += Buffer.from(c).toString(); } });
  return { code: r.exitCode ?? (r.signal ? 128 + 9 : 1), stdout: Buffer.concat(out), stderr };
}

export async function openSshHost(target: string, connect: SshConnect): Promise<SwapHost> {
  const t = parseTarget(target);
  if (t.kind !== 'ssh') throw new UnderstudyError('bad-target', `${target} is not an ssh:// target`);
  const shell = await connect(t);
  return openShellHost(targetString(t), 'ssh', shell, t.user === 'root' ? '' : 'sudo -n ');
}

/**
 * The seam over an open shell; `su` is the prefix that makes a command run as root ('' when the shell
 * already is root). Takes ownership of the shell: it is closed when opening fails or with the host.
 */
export async function openShellHost(target: string, kind: 'ssh' | 'local', shell: RemoteShell, su: string): Promise<SwapHost> {
  const sh = (cmd: string, opts?: { stdin?: Buffer | string; signal?: AbortSignal }) => collect(shell, cmd, opts);
  const must = async (what: string, cmd: string, stdin?: Buffer | string) => {
    const r = await sh(cmd, { stdin });
    if (r.code !== 0) throw new UnderstudyError('remote-command', `${target}: ${what} failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
    return r.stdout;
  };
  try {
    // one round trip says whether we can act as root, where the work area lives relative to /, and
    // whether GNU tar can take the staged content in one stream
    // (made the first time, its parent keeps its mtime: a rolled-back host is its old map exactly)
    const probe = await sh(`${su}sh -c ${q(`${makeWorkDir} && chmod 700 ${HOST_WORK} && stat -c %d / ${HOST_WORK} && command -v sha256sum stat find && { tar --version 2>/dev/null | head -n 1; :; }`)}`);
    if (probe.code !== 0) {
      throw new UnderstudyError('bad-target', `${target}: cannot prepare ${HOST_WORK} as root${su ? ' (passwordless sudo is required for a non-root user)' : ''}: ${probe.stderr.trim().slice(-300)}`);
    }
    const [rootDev, workDev] = probe.stdout.toString().trim().split('\n');
    const gnuTar = /^tar \(GNU tar\)/m.test(probe.stdout.toString());
    return shellSwapHost(target, kind, shell as StreamingShell, { su, workOnRoot: rootDev === workDev, gnuTar }, must, sh);
  } catch (e) {
    await shell.close();
    throw e;
  }
}

function shellSwapHost(target: string, kind: 'ssh' | 'local', shell: StreamingShell,
  { su, workOnRoot, gnuTar }: { su: string; workOnRoot: boolean; gnuTar: boolean },
  must: (what: string, cmd: string, stdin?: Buffer | string) => Promise<Buffer>,
  sh: (cmd: string, opts?: { stdin?: Buffer | string; signal?: AbortSignal }) => ReturnType<typeof collect>): SwapHost {
  const root = '/';
  const asRoot = (script: string, ...args: string[]) => `${su}sh -c ${q(script)} sh ${args.map(q).join(' ')}`;
  const runner: ShellRunner = (command, stdin) => sh(command, { stdin });
  /** A command fed `text` on its stdin: chunks stream through the channel as they are made. */
  const mustWithText = async (what: string, cmd: string, text: Text) => {
    if (typeof text === 'string' || !shell.execStream) return must(what, cmd, typeof text === 'string' ? text : [...text].join(''));
    const { stdin, stdout, done } = await shell.execStream(cmd, { stdin: 'pipe' });
    stdout.resume();
    const cut = await pipeline(Readable.from(text), stdin!).then(() => undefined, (e: unknown) => e as Error);
    const r = await done;
    if (cut || r.exitCode !== 0) {
      throw new UnderstudyError('remote-command', `${target}: ${what} failed (exit ${r.exitCode}): ${cut ? `${cut.message}; ` : ''}${r.stderrTail.trim().slice(-500)}`);
    }
    return Buffer.alloc(0);
  };
  const writeText = async (file: string, text: Text) => {
    await mustWithText(`writing ${file}`, asRoot('cat > "$1.tmp" && mv -f "$1.tmp" "$1"', file), text);
  };

  async function putObject(file: string, src: { file: string } | { bytes: Uint8Array }, attrs: { mode: number; uid: number; gid: number }) {
    const cmd = asRoot('cat > "$1.tmp" && chown "$2" "$1.tmp" && chmod "$3" "$1.tmp" && mv -f "$1.tmp" "$1"',
      file, `${attrs.uid}:${attrs.gid}`, attrs.mode.toString(8));
    let bytes = 0;
    if ('bytes' in src || !shell.execStream) {
      const data = 'bytes' in src ? Buffer.from(src.bytes) : await readFile(src.file);
      await must(`staging ${file}`, cmd, data);
      return data.length;
    }
    // a file streams from the store with back-pressure: objects can be larger than memory
    const { stdin, stdout, done } = await shell.execStream(cmd, { stdin: 'pipe' });
    stdout.resume();
    const count = new Transform({ transform(c: Buffer, _e, cb) { bytes += c.length; cb(null, c); } });
    await pipeline(createReadStream(src.file), count, stdin!);
    const r = await done;
    if (r.exitCode !== 0) throw new UnderstudyError('remote-command', `${target}: staging ${file} failed (exit ${r.exitCode}): ${r.stderrTail.trim().slice(-500)}`);
    return bytes;
  }

  const mkdirp = async (d: string) => { await must(`mkdir ${d}`, `${su}mkdir -p -- ${q(d)}`); };

  /** Every object through one exec channel: a tar stream made here, extracted by GNU tar on the host. */
  async function stageFiles(files: AsyncIterable<StageFile>): Promise<number> {
    if (!gnuTar || !shell.execStream) return stageOneByOne({ mkdirp, putObject }, files);
    const { stdin, stdout, done } = await shell.execStream(`${su}${TAR_EXTRACT}`, { stdin: 'pipe' });
    stdout.resume();
    const failure = (r: { exitCode: number | null; stderrTail: string }, what: string) => new UnderstudyError('remote-command',
      `${target}: staging through tar ${what} (exit ${r.exitCode}): ${r.stderrTail.trim().slice(-500)}`);
    let streaming = true;
    // tar that stops early (no space, a refused owner) would leave us writing into a closed channel
    const exitedEarly = done.then((r) => { if (streaming) throw failure(r, 'stopped before the stream ended'); });
    exitedEarly.catch(() => {});
    let bytes: number;
    try {
      bytes = await Promise.race([writeStageTar(files, stdin!), exitedEarly.then(() => 0)]);
      streaming = false;
    } catch (e) {
      // the stream is cut unfinished: tar fails on it, and what it extracted is staging without a journal
      stdin!.destroy();
      await done.catch(() => {});
      throw e;
    }
    const r = await done;
    if (r.exitCode !== 0) throw failure(r, 'failed');
    return bytes;
  }

  return {
    target,
    kind,
    root,
    work: HOST_WORK,
    // rename is atomic only within one filesystem: the root fs stages in WORK when WORK is on it, every
    // other mount in a directory of its own top
    areaDir: (mount, txid) => mount === '' && workOnRoot ? join(HOST_WORK, 'tx', txid, 'a0')
      : join(hostPath(root, mount).toString(), '.understudy-stage', txid),
    probe: (req: ProbeRequest) => probeRemote(root, req, runner, su !== ''),
    // the path goes over stdin as raw bytes: a name that is not UTF-8 cannot travel in a command line
    readFile: async (key) => must(`reading /${key}`, `${su}xargs -0 cat --`, Buffer.concat([hostPath(root, key), Buffer.from([0])])),
    async freeBytes(dir) {
      const out = await must(`free space of ${dir}`, asRoot('d=$1; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; stat -f -c "%a %S" "$d"', dir));
      const [avail, bsize] = out.toString().trim().split(' ').map(Number);
      return avail! * bsize!;
    },
    mkdirp,
    putObject,
    stageFiles,
    writeText,
    async createTx(txid, plan) {
      await mustWithText(`creating transaction ${txid}`, asRoot(CREATE_TX_SCRIPT, HOST_WORK, txid), plan);
    },
    async readText(file) {
      const r = await sh(`${su}cat -- ${q(file)}`);
      return r.code === 0 ? r.stdout.toString('utf8') : null;
    },
    async list(d) {
      const r = await sh(`${su}find ${q(d)} -mindepth 1 -maxdepth 1 -printf '%f\\0'`);
      if (r.code !== 0) return [];
      return r.stdout.toString('utf8').split('\0').filter((n) => n !== '');
    },
    exists: async (p) => (await sh(asRoot('[ -e "$1" ] || [ -L "$1" ]', p))).code === 0,
    async installAgent(env = {}) {
      const want = agentScript();
      const sha = createHash('sha256').update(want).digest('hex');
      const file = join(HOST_WORK, 'agent.sh');
      // one round trip when the agent is current: its hash, and the path its 'apply' takes here
      const have = (await sh(`${su}env ${envWords(env)} sh -c ${q('sha256sum "$1" && sh "$1" path')} sh ${q(file)}`)).stdout.toString();
      if (have.slice(0, 64) === sha) return /^perl$/m.test(have) ? 'perl' : 'sh';
      await writeText(file, want);
      return (await sh(`${su}env ${envWords(env)} sh ${q(file)} path`)).stdout.toString().trim() === 'perl' ? 'perl' : 'sh';
    },
    async agent(args, env = {}): Promise<AgentResult> {
      try {
        const r = await sh(`${su}env ${envWords(env)} sh ${q(join(HOST_WORK, 'agent.sh'))} ${args.map(q).join(' ')}`);
        return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
      } catch (e) {
        // the connection died under the agent (host crash, network): the journal on the host decides; the
        // caller reports 'needs-recovery' from a result without an outcome
        return { code: 255, stdout: '', stderr: `${kind}: ${(e as Error).message}` };
      }
    },
    async health(cmds, signal): Promise<HealthResult[]> {
      const out: HealthResult[] = [];
      for (const cmd of cmds) {
        const r = await sh(`cd / && ${su}sh -c ${q(cmd)} 2>&1`, { signal });
        out.push({ cmd, ok: r.code === 0, exitCode: r.code, output: r.stdout.toString('utf8').slice(-4000) });
      }
      return out;
    },
    close: () => shell.close(),
  };
}
