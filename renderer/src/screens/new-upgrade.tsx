// New upgrade: target, upgrade command (or packages), sandbox checks, host health checks, hypervisor.
import { useState, type FormEvent } from 'react';
import { navigate } from '../router.ts';
import { useCommand, useTransport } from '../transport-context.tsx';

const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);

/** Packages to upgrade become one apt command; the operator sees it before starting. */
export const packagesCommand = (pkgs: string): string =>
  `apt-get install -y ${pkgs.split(/[\s,]+/).filter(Boolean).join(' ')}`;

export function NewUpgradeScreen({ initialTarget }: { initialTarget?: string }) {
  const t = useTransport();
  const [hosts] = useCommand('hosts:list', {});
  const [target, setTarget] = useState(initialTarget ?? '');
  const [kind, setKind] = useState<'upgrade' | 'rehearse'>('upgrade');
  const [mode, setMode] = useState<'command' | 'packages'>('command');
  const [command, setCommand] = useState('');
  const [packages, setPackages] = useState('');
  const [checks, setChecks] = useState('');
  const [health, setHealth] = useState('');
  const [hypervisor, setHypervisor] = useState<'qemu' | 'libvirt'>('qemu');
  const [mirror, setMirror] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = mode === 'command' ? command.trim() : packages.trim() ? packagesCommand(packages) : '';

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const env = await t.invoke('run:start', {
      kind, target: target.trim(), run, checks: lines(checks), health: lines(health), hypervisor, ...(mirror.trim() ? { mirror: mirror.trim() } : {}),
    });
    setBusy(false);
    if (env.ok) navigate({ screen: 'run', id: env.value.run });
    else setError(env.error.message);
  }

  return (
    <section aria-labelledby="new-h">
      <div className="screen-head"><h1 id="new-h">New upgrade</h1></div>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label htmlFor="target">Target</label>
        <div>
          <input id="target" name="target" className="mono" required value={target} onChange={(e) => setTarget(e.target.value)}
            placeholder="ssh://root@web1  ·  dir:/srv/roots/web2  ·  local" list="known-targets" autoFocus={!initialTarget} />
          <datalist id="known-targets">{hosts.state === 'ok' && hosts.value.map((h) => <option key={h.target} value={h.target} />)}</datalist>
        </div>

        <span className="label">Kind</span>
        <div className="radios" role="radiogroup" aria-label="Kind">
          <label><input type="radio" name="kind" checked={kind === 'upgrade'} onChange={() => setKind('upgrade')} /> Upgrade — rehearse, review, swap onto the host</label>
          <label><input type="radio" name="kind" checked={kind === 'rehearse'} onChange={() => setKind('rehearse')} /> Rehearse only — the host is never touched</label>
        </div>

        <span className="label">Upgrade</span>
        <div>
          <div className="radios inline" role="radiogroup" aria-label="Upgrade by">
            <label><input type="radio" name="mode" checked={mode === 'command'} onChange={() => setMode('command')} /> Command</label>
            <label><input type="radio" name="mode" checked={mode === 'packages'} onChange={() => setMode('packages')} /> Packages</label>
          </div>
          {mode === 'command' ? (
            <input id="command" name="command" aria-label="Upgrade command" className="mono" value={command} onChange={(e) => setCommand(e.target.value)}
              placeholder="apt-get update && apt-get -y full-upgrade" autoFocus={Boolean(initialTarget)} />
          ) : (
            <>
              <input id="packages" name="packages" aria-label="Packages to upgrade" className="mono" value={packages} onChange={(e) => setPackages(e.target.value)}
                placeholder="hello-service=2.0 openssl" />
              <div className="hint">Runs: <code>{run || '—'}</code></div>
            </>
          )}
        </div>

        <label htmlFor="checks">Checks <span className="hint">in the sandbox, one per line</span></label>
        <textarea id="checks" name="checks" className="mono" rows={3} value={checks} onChange={(e) => setChecks(e.target.value)}
          placeholder="curl -fsS http://127.0.0.1:8080/health" />

        <label htmlFor="health">Health checks <span className="hint">on the host after the swap</span></label>
        <textarea id="health" name="health" className="mono" rows={3} value={health} onChange={(e) => setHealth(e.target.value)}
          placeholder="systemctl is-system-running --wait (default)" disabled={kind === 'rehearse'} />

        <label htmlFor="hypervisor">Hypervisor</label>
        <select id="hypervisor" value={hypervisor} onChange={(e) => setHypervisor(e.target.value as 'qemu' | 'libvirt')}>
          <option value="qemu">qemu (embedded)</option>
          <option value="libvirt">libvirt</option>
        </select>

        <label htmlFor="mirror">Package mirror <span className="hint">the only place the sandbox may reach</span></label>
        <input id="mirror" name="mirror" className="mono" value={mirror} onChange={(e) => setMirror(e.target.value)}
          placeholder="/srv/mirror  or  http://mirror.internal:8080/debian  (optional)" />

        <span />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !target.trim() || !run}>
            {busy ? 'Starting…' : kind === 'upgrade' ? 'Start upgrade' : 'Start rehearsal'}
          </button>
          {error && <span className="error" role="alert">{error}</span>}
        </div>
      </form>
    </section>
  );
}
