// Review: the sandbox-only paths the run changed (what understudy edits so the sandbox boots, and
// runtime state) and what became of each. Identity paths (host keys, machine id) keep the host's own
// unless the operator ticks "apply the upgrade's"; conflicts are decided in the conflicts table.
import type { KeptBack } from '../../../main/contract/index.ts';

const tone: Record<KeptBack['outcome'], string> = { merged: 'good', conflict: 'warn', identity: 'attention', runtime: 'muted' };
const meaning: Record<KeptBack['outcome'], string> = {
  merged: 'the upgrade\'s change lands in the host\'s own version',
  conflict: 'decide it under Conflicts',
  identity: 'the host\'s own is kept',
  runtime: 'runtime state: never applied',
};

export function KeptBackSection({ items, chosen, decidable, onChoose }: {
  items: KeptBack[];
  chosen: Record<string, 'host' | 'sandbox'>;
  decidable: boolean;
  onChoose(path: string, take: boolean): void;
}) {
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="kept-h" className="kept-back">
      <h2 id="kept-h">Sandbox-only paths <span className="hint">paths understudy edits in the sandbox, or state a running machine rewrites: what the run did to them</span></h2>
      <table className="grid compact">
        <thead><tr><th>Path</th><th>Outcome</th><th>In the sandbox</th><th>On the host</th></tr></thead>
        <tbody>
          {items.map((k) => (
            <tr key={k.path}>
              <td className="mono">{k.path}</td>
              <td><span className={`badge tone-${tone[k.outcome]}`}>{k.outcome}</span></td>
              <td>{k.sandbox}{k.sandboxDiff && <Diff title="the upgrade's change" text={k.sandboxDiff} />}</td>
              <td>
                {k.why && <div className="muted">{k.why}</div>}
                {meaning[k.outcome]}
                {k.outcome === 'identity' && (
                  <label className="inline"> <input type="checkbox" checked={chosen[k.path] === 'sandbox'} disabled={!decidable}
                    onChange={(e) => onChoose(k.path, e.target.checked)} /> apply the upgrade&apos;s</label>
                )}
                {k.hostDiff && <Diff title={k.outcome === 'merged' ? 'what lands' : 'what would land'} text={k.hostDiff} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Diff({ title, text }: { title: string; text: string }) {
  return <details className="diff"><summary>{title}</summary><pre>{text}</pre></details>;
}
