// SwapHost for `dir:` targets: the tree is a directory on this machine. The work area sits next to it
// (same filesystem, outside the tree, so the tree stays exactly the map), the agent runs through the
// local `sh`, and health commands run here with cwd = the directory and UNDERSTUDY_ROOT set.
import { spawn } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, readdir, readFile, rename, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { agentScript } from '../agent/agent-script.ts';
import { hostPath, probeLocal, type ProbeRequest } from './local-probe.ts';
import { stageInParallel } from './stage-files.ts';
import { lockWorkArea } from './host-lock.ts';
import type { AgentResult, HealthResult, SwapHost, Text } from './swap-host.ts';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<AgentResult> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', rej);
    p.on('close', (code, sig) => res({ code: code ?? (sig ? 128 + 9 : 1), stdout, stderr }));
  });
}

export async function openDirHost(target: string): Promise<SwapHost> {
  const root = resolve(target.replace(/^dir:/, ''));
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new UnderstudyError('bad-target', `dir: target ${root} is not a directory`);
  const work = join(dirname(root), `.understudy-${basename(root)}`);
  const parentDev = (await stat(dirname(root))).dev;
  if (parentDev !== st.dev) {
    throw new UnderstudyError('bad-target', `${root} is a mount point: its swap work area must be on the same filesystem, next to it`);
  }
  // a temp name of its own: two orchestrators may write the same file (agent.sh) at once
  const writeText = async (file: string, text: Text) => {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
  };
  const mkdirp = async (d: string) => { await mkdir(d, { recursive: true }); };
  const putObject: SwapHost['putObject'] = async (file, src, attrs) => {
    if ('file' in src) await copyFile(src.file, file); else await writeFile(file, src.bytes);
    await chown(file, attrs.uid, attrs.gid);
    await chmod(file, attrs.mode);
    return 'file' in src ? (await stat(file)).size : src.bytes.length;
  };
  // UNDERSTUDY_AGENT_SHELL (e.g. 'busybox sh') runs the agent under another POSIX shell: hosts differ
  const runAgent = (args: string[], env?: Record<string, string>) => {
    const [shell, ...pre] = (process.env.UNDERSTUDY_AGENT_SHELL ?? 'sh').split(' ');
    return run(shell!, [...pre, join(work, 'agent.sh'), ...args], { env: { ...process.env, ...env } });
  };
  return {
    target: `dir:${root}`,
    kind: 'dir',
    root,
    work,
    areaDir: (_mount, txid) => join(work, 'tx', txid, 'a0'),
    probe: (req: ProbeRequest) => probeLocal(root, req),
    readFile: (key) => readFile(hostPath(root, key)),
    async freeBytes(dir) {
      let d = dir;
      for (;;) {
        try { const s = await statfs(d); return s.bavail * s.bsize; } catch { if (d === dirname(d)) throw new UnderstudyError('io', `cannot statfs ${dir}`); d = dirname(d); }
      }
    },
    mkdirp,
    putObject,
    // local writes cost no round trips: the per-file calls, several in flight
    stageFiles: (files) => stageInParallel({ mkdirp, putObject }, files),
    writeText,
    async createTx(txid, plan) {
      const tmp = join(work, 'tx', `.${txid}.${process.pid}.new`);
      await mkdir(tmp, { recursive: true });
      await writeFile(join(tmp, 'plan'), plan);
      await rename(tmp, join(work, 'tx', txid));
    },
    readText: (file) => readFile(file, 'utf8').catch(() => null),
    list: (d) => readdir(d).catch(() => []),
    exists: (p) => stat(p).then(() => true, () => false),
    lock: () => lockWorkArea(`dir:${root}`, work),
    async installAgent(env) {
      await mkdir(work, { recursive: true });
      const want = agentScript();
      if ((await readFile(join(work, 'agent.sh'), 'utf8').catch(() => '')) !== want) await writeText(join(work, 'agent.sh'), want);
      return (await runAgent(['path'], env)).stdout.trim() === 'perl' ? 'perl' : 'sh';
    },
    agent: (args, env) => runAgent(args, env),
    async health(cmds, signal) {
      const out: HealthResult[] = [];
      for (const cmd of cmds) {
        const r = await run('sh', ['-c', cmd], { cwd: root, env: { ...process.env, UNDERSTUDY_ROOT: root }, signal });
        out.push({ cmd, ok: r.code === 0, exitCode: r.code, output: (r.stdout + r.stderr).slice(-4000) });
      }
      return out;
    },
    async close() { /* nothing held */ },
  };
}
